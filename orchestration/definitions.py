"""The one Dagster ``Definitions`` of Lodestone (``dagster dev -m orchestration.definitions``)."""


import os

from dagster import (
    AssetSpec,
    Definitions,
    in_process_executor,
    load_asset_checks_from_modules,
    load_assets_from_modules,
)

from orchestration.alerts import report_run_failures
from orchestration.assets import (
    attribution,
    engagement,
    experiments,
    metrics,
    overview,
    roi,
    sessions,
)
from orchestration.automation import (
    analytics_hourly,
    compact_lake_every_10_minutes,
    refresh_metrics_on_new_events,
    rollup_after_daily,
)
from orchestration.checks import rows_checks
from orchestration.jobs import (
    analytics_cycle,
    analytics_daily,
    analytics_rollup,
    compact_lake,
    refresh_metrics,
)
from orchestration.resources import MetadataResource, WarehouseResource
from orchestration.retention import retention, retention_daily
from orchestration.sensors import experiment_promotion

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

_MODULES = [metrics, overview, sessions, engagement, attribution, roi, experiments]

#: Raw events, written by the collector (not by Dagster): shown for lineage.
events = AssetSpec(
    "events", group_name="sources", owners=["team:platform"], kinds={"clickhouse"},
    description="Raw tracking events (warehouse_sql/migrations/0001_events.sql), written by "
                "the collector's shipper or `lodestone simulate --direct`.")

all_assets = load_assets_from_modules(_MODULES)
all_checks = [
    *load_asset_checks_from_modules(_MODULES),
    *rows_checks(["sessions", "funnels", "cohorts", "conversion_paths", "lead_values",
                  "attribution", "roi", "experiment_results", "overview_landing_daily",
                  "overview_channels_daily"]),
]

defs = Definitions(
    assets=[events, *all_assets],
    asset_checks=all_checks,
    jobs=[refresh_metrics, analytics_cycle, analytics_daily, analytics_rollup, compact_lake,
          retention],
    schedules=[analytics_hourly, compact_lake_every_10_minutes, retention_daily],
    sensors=[refresh_metrics_on_new_events, rollup_after_daily, experiment_promotion,
             report_run_failures],
    resources={"warehouse": WarehouseResource(), "metadata": MetadataResource()},
    # Every step of a run in the run's own process: a step subprocess costs seconds of
    # start-up each (measured in benchmarks/automation.py, recorded in docs/operations.md).
    executor=in_process_executor,
)
