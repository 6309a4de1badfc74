"""Multi-touch attribution: conversion paths in SQL, every model in Python, stored as tables."""

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    MaterializeResult,
    asset,
    asset_check,
)

from orchestration.assets.sql_models import sql_model_asset
from orchestration.partitions import ROLLUP_FRESH
from orchestration.resources import MetadataResource, WarehouseResource
from pipelines.analytics import credit, schemas
from pipelines.analytics import metadata as meta
from pipelines.analytics.lead_values import LEARNED_SQL
from pipelines.analytics.lead_values import lead_values as combine_values

OWNERS = ["team:growth-analytics"]


conversion_paths = sql_model_asset(
    "conversion_paths", "Channels of each visitor's sessions in time order up to each lead; "
    "non-converting too.", deps=["sessions", "events"])


@asset_check(asset=conversion_paths, description="Every lead event of a visitor has a path.")
def every_lead_has_a_path(warehouse: WarehouseResource) -> AssetCheckResult:
    """Converting paths equal lead events with a visitor id."""
    with warehouse.open() as wh:
        paths = int(wh.scalar(
            "SELECT count() FROM {{ ref('conversion_paths') }} WHERE converted = 1") or 0)
        leads = int(wh.scalar("SELECT count() FROM {{ source('events') }} "
                              "WHERE event = 'lead' AND visitor_id != ''") or 0)
    return AssetCheckResult(passed=paths == leads, metadata={"paths": paths, "leads": leads})


@asset(group_name="analytics", owners=OWNERS, freshness_policy=ROLLUP_FRESH, kinds={"clickhouse", "python"},
       deps=["events"])
def lead_values(context: AssetExecutionContext, warehouse: WarehouseResource,
                metadata: MetadataResource) -> MaterializeResult:
    """Value of a lead per magnet: lead_magnets.lead_value, else revenue per lead after opt-in."""
    with metadata.session() as s:
        configured = meta.magnets(s)
    with warehouse.open() as wh:
        learned = wh.query_polars(LEARNED_SQL)
        table = schemas.to_arrow(combine_values(configured, learned), schemas.LEAD_VALUES)
        rows = wh.write_table("lead_values", table, order_by="(org_id, magnet_id)")
    return MaterializeResult(metadata={"rows": rows})


@asset(group_name="analytics", owners=OWNERS, freshness_policy=ROLLUP_FRESH, kinds={"clickhouse", "python"},
       deps=["conversion_paths", "lead_values"])
def attribution(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """Conversions and lead value per org, channel and model (first/last touch ... Shapley)."""
    with warehouse.open() as wh:
        paths = wh.query_polars(credit.PATHS_SQL)
        timed = wh.query_polars(credit.TIMED_SQL)
        result = credit.attribute_all(paths, timed)
        rows = wh.write_table("attribution", schemas.to_arrow(result, schemas.ATTRIBUTION),
                              order_by="(org_id, model, channel)")
    context.log.info(f"attribution: {paths.height} distinct paths, {timed.height} conversions")
    return MaterializeResult(metadata={"rows": rows, "distinct_paths": paths.height,
                                       "conversions": timed.height})


@asset_check(asset=attribution, description="Every model credits exactly the leads of each "
             "organization, and exactly their value (conservation of conversions).")
def attribution_conserves_conversions(warehouse: WarehouseResource) -> AssetCheckResult:
    """Per org and model: attributed conversions = leads, attributed value = paths' value."""
    with warehouse.open() as wh:
        rows = wh.query(
            "SELECT a.org_id AS org_id, a.model AS model, a.credited AS credited, "
            "ifNull(l.leads, 0) AS leads, a.valued AS valued, ifNull(l.value, 0) AS value "
            "FROM (SELECT org_id, model, sum(conversions) AS credited, sum(value) AS valued "
            "      FROM {{ ref('attribution') }} GROUP BY org_id, model) AS a "
            "LEFT JOIN (SELECT cp.org_id AS org_id, toFloat64(count()) AS leads, "
            "      sum(lv.lead_value) AS value FROM {{ ref('conversion_paths') }} AS cp "
            "      LEFT JOIN {{ ref('lead_values') }} AS lv "
            "      ON cp.org_id = lv.org_id AND cp.magnet_id = lv.magnet_id "
            "      WHERE cp.converted = 1 GROUP BY cp.org_id) AS l ON a.org_id = l.org_id",
        )
    off = [r for r in rows if abs(r["credited"] - r["leads"]) > 1e-6 * max(1.0, r["leads"])
           or abs(r["valued"] - r["value"]) > 1e-6 * max(1.0, r["value"])]
    return AssetCheckResult(passed=not off, metadata={
        "checked": len(rows), "mismatches": str(off[:5]) if off else "none"})
