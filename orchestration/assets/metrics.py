"""Metric assets computed by the SQL models in ``warehouse_sql/models``."""


from dagster import AssetCheckResult, AssetExecutionContext, MaterializeResult, asset, asset_check

from orchestration.resources import WarehouseResource


@asset(
    group_name="metrics",
    owners=["team:growth-analytics"],
    kinds={"clickhouse", "sql"},
    deps=["events"],
    description="Visitors, views, form starts, leads, conversion rate and revenue per "
    "organization, magnet, variant and day (warehouse_sql/models/daily_magnet_metrics.sql).",
)
def daily_magnet_metrics(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    """Daily metrics per magnet and variant, from the raw events."""
    with warehouse.open() as wh:
        rows = wh.materialize("daily_magnet_metrics")
        leads = wh.scalar("SELECT sum(leads) FROM {{ ref('daily_magnet_metrics') }}") or 0
    context.log.info("daily_magnet_metrics: %d rows, %d leads", rows, leads)
    return MaterializeResult(metadata={"rows": rows, "leads": int(leads)})


@asset_check(asset=daily_magnet_metrics, description="Leads in the model equal lead events.")
def leads_conserved(warehouse: WarehouseResource) -> AssetCheckResult:
    """Every lead event with a magnet is counted exactly once in the daily metrics."""
    with warehouse.open() as wh:
        model = int(wh.scalar("SELECT sum(leads) FROM {{ ref('daily_magnet_metrics') }}") or 0)
        raw = int(wh.scalar(
            "SELECT count() FROM {{ source('events') }} WHERE event = 'lead' AND magnet_id != ''"
        ) or 0)
    return AssetCheckResult(passed=model == raw, metadata={"model": model, "events": raw})
