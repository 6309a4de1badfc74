"""The one Dagster ``Definitions`` of Lodestone (``dagster dev -m orchestration.definitions``)."""

from __future__ import annotations

import os

from dagster import (
    AssetSelection,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    load_asset_checks_from_modules,
    load_assets_from_modules,
)

from orchestration.assets import metrics
from orchestration.jobs import compact_lake
from orchestration.resources import MetadataResource, WarehouseResource

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

all_assets = load_assets_from_modules([metrics])
all_checks = load_asset_checks_from_modules([metrics])

refresh_metrics = define_asset_job("refresh_metrics", selection=AssetSelection.groups("metrics"))

defs = Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    jobs=[refresh_metrics, compact_lake],
    schedules=[
        ScheduleDefinition(job=refresh_metrics, cron_schedule="*/5 * * * *"),
        ScheduleDefinition(job=compact_lake, cron_schedule="*/10 * * * *"),
    ],
    resources={"warehouse": WarehouseResource(), "metadata": MetadataResource()},
)
