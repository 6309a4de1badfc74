"""The Overview's roll-ups: metric states per day and dimension (warehouse_sql/models/overview_*)."""

import time

from dagster import AssetCheckResult, AssetExecutionContext, MaterializeResult, asset, asset_check

from app_api.overview_data import variables
from kernel.settings import get_settings
from orchestration.assets.sql_models import OWNERS
from orchestration.resources import WarehouseResource


@asset(group_name="metrics", owners=OWNERS, kinds={"clickhouse", "sql"}, deps=["events"])
def overview_daily(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """Headline metric states per org, day, magnet, device and country, up to a watermark."""
    watermark = int(time.time() * 1000) - get_settings().rollup_lag_s * 1000
    with warehouse.open() as wh:
        rows = wh.materialize("overview_daily", variables(), parameters={"watermark": watermark})
    context.log.info(f"overview_daily: {rows} rows, events received before {watermark} ms")
    return MaterializeResult(metadata={"rows": rows, "watermark_ms": watermark})


@asset_check(asset=overview_daily, description="The roll-up's leads plus those received since "
             "its watermark equal the lead events.")
def overview_daily_conserves_leads(warehouse: WarehouseResource) -> AssetCheckResult:
    """Rolled-up leads + leads received at or after each row's watermark == lead events."""
    with warehouse.open() as wh:
        rolled = int(wh.scalar("SELECT sum(leads) FROM {{ ref('overview_daily') }}") or 0)
        mark = int(wh.scalar("SELECT min(watermark_ms) FROM {{ ref('overview_daily') }}") or 0)
        raw = int(wh.scalar("SELECT countIf(toUnixTimestamp64Milli(received_at) < {m:Int64}) "
                            "FROM {{ source('events') }} WHERE event = 'lead'", {"m": mark}) or 0)
    return AssetCheckResult(passed=rolled == raw, metadata={"rolled_up": rolled, "events": raw})


def _sessions_model(name: str, description: str, deps: list[str]):  # type: ignore[no-untyped-def]
    @asset(name=name, description=description, group_name="analytics", owners=OWNERS,
           kinds={"clickhouse", "sql"}, deps=deps)
    def _materialize(context: AssetExecutionContext,
                     warehouse: WarehouseResource) -> MaterializeResult:
        with warehouse.open() as wh:
            rows = wh.materialize(name, variables())
        context.log.info(f"{name}: {rows} rows")
        return MaterializeResult(metadata={"rows": rows})

    return _materialize


overview_landing_daily = _sessions_model(
    "overview_landing_daily", "Headline metric states per org, day, landing page (first page "
    "of the session that day), magnet, device and country.", ["events"])
overview_channels_daily = _sessions_model(
    "overview_channels_daily", "Headline metric states per org, day, GA4 channel, device and "
    "country, from sessions.", ["sessions"])
