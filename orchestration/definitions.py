"""The one Dagster ``Definitions`` of Lodestone (``dagster dev -m orchestration.definitions``)."""


import os

from dagster import (
    AssetSelection,
    AssetSpec,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    load_asset_checks_from_modules,
    load_assets_from_modules,
)

from orchestration.assets import attribution, engagement, experiments, metrics, roi, sessions
from orchestration.automation import analytics_hourly, rollup_after_daily
from orchestration.checks import rows_checks
from orchestration.jobs import analytics_daily, analytics_rollup, compact_lake
from orchestration.resources import MetadataResource, WarehouseResource
from orchestration.sensors import experiment_promotion

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

_MODULES = [metrics, sessions, engagement, attribution, roi, experiments]

#: Raw events, written by the collector (not by Dagster): shown for lineage.
events = AssetSpec(
    "events", group_name="sources", owners=["team:platform"], kinds={"clickhouse"},
    description="Raw tracking events (warehouse_sql/migrations/0001_events.sql), written by "
                "the collector's shipper or `lodestone simulate --direct`.")

all_assets = load_assets_from_modules(_MODULES)
all_checks = [
    *load_asset_checks_from_modules(_MODULES),
    *rows_checks(["sessions", "funnels", "cohorts", "conversion_paths", "lead_values",
                  "attribution", "roi", "experiment_results"]),
]

refresh_metrics = define_asset_job("refresh_metrics", selection=AssetSelection.groups("metrics"))

defs = Definitions(
    assets=[events, *all_assets],
    asset_checks=all_checks,
    jobs=[refresh_metrics, analytics_daily, analytics_rollup, compact_lake],
    schedules=[
        ScheduleDefinition(job=refresh_metrics, cron_schedule="*/5 * * * *"),
        ScheduleDefinition(job=compact_lake, cron_schedule="*/10 * * * *"),
        analytics_hourly,
    ],
    sensors=[rollup_after_daily, experiment_promotion],
    resources={"warehouse": WarehouseResource(), "metadata": MetadataResource()},
)
