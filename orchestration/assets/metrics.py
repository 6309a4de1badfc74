"""Metric assets computed by the SQL models in ``warehouse_sql/models``."""


from dagster import AssetCheckResult, asset_check

from kernel.warehouse import Warehouse
from orchestration.assets.sql_models import sql_model_asset
from orchestration.resources import WarehouseResource


def _leads(wh: Warehouse) -> dict[str, int]:
    return {"leads": int(wh.scalar("SELECT sum(leads) FROM {{ ref('daily_magnet_metrics') }}")
                         or 0)}


daily_magnet_metrics = sql_model_asset(
    "daily_magnet_metrics", "Visitors, views, form starts, leads, conversion rate and revenue "
    "per organization, magnet, variant and day (warehouse_sql/models/daily_magnet_metrics.sql).",
    deps=["events"], group="metrics", fresh=None, summary=_leads)


@asset_check(asset=daily_magnet_metrics, description="Leads in the model equal lead events.")
def leads_conserved(warehouse: WarehouseResource) -> AssetCheckResult:
    """Every lead event with a magnet is counted exactly once in the daily metrics."""
    with warehouse.open() as wh:
        model = int(wh.scalar("SELECT sum(leads) FROM {{ ref('daily_magnet_metrics') }}") or 0)
        raw = int(wh.scalar(
            "SELECT count() FROM {{ source('events') }} WHERE event = 'lead' AND magnet_id != ''"
        ) or 0)
    return AssetCheckResult(passed=model == raw, metadata={"model": model, "events": raw})
