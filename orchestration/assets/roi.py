"""ROI per channel and attribution model, from ad spend in the metadata database."""

import polars as pl
from dagster import AssetCheckResult, AssetExecutionContext, MaterializeResult, asset, asset_check

from orchestration.partitions import ROLLUP_FRESH
from orchestration.resources import MetadataResource, WarehouseResource
from pipelines.analytics import metadata as meta
from pipelines.analytics import schemas
from pipelines.analytics.roi import PAYBACK_SQL
from pipelines.analytics.roi import roi as compute_roi

OWNERS = ["team:growth-analytics"]


@asset(group_name="analytics", owners=OWNERS, freshness_policy=ROLLUP_FRESH, kinds={"clickhouse", "python"},
       deps=["attribution", "cohorts"])
def roi(context: AssetExecutionContext, warehouse: WarehouseResource,
        metadata: MetadataResource) -> MaterializeResult:
    """Spend, cost per lead, ROAS, ROI and payback weeks per channel and attribution model."""
    with metadata.session() as s:
        spend = meta.ad_spend(s)
    with warehouse.open() as wh:
        credit = wh.query_polars("SELECT * FROM {{ ref('attribution') }}")
        payback = wh.query_polars(PAYBACK_SQL)
        table = schemas.to_arrow(compute_roi(credit, spend, payback), schemas.ROI)
        rows = wh.write_table("roi", table, order_by="(org_id, model, channel)")
    return MaterializeResult(metadata={"rows": rows, "spend_lines": spend.height})


@asset_check(asset=roi, description="Each model's spend adds up to the uploaded ad spend.")
def roi_conserves_spend(warehouse: WarehouseResource,
                        metadata: MetadataResource) -> AssetCheckResult:
    """Per org and model, the spend column sums to the org's ad spend."""
    with metadata.session() as s:
        spend = meta.ad_spend(s)
    expected = {org: float(total) for org, total in
                spend.group_by("org_id").agg(pl.col("amount").sum()).iter_rows()}
    with warehouse.open() as wh:
        rows = wh.query("SELECT org_id, model, sum(spend) AS spend FROM {{ ref('roi') }} "
                        "GROUP BY org_id, model")
    off = [r for r in rows if abs(r["spend"] - expected.get(r["org_id"], 0.0)) > 1e-6]
    missing = set(expected) - {r["org_id"] for r in rows}
    return AssetCheckResult(passed=not off and not missing, metadata={
        "mismatches": str(off[:5]) if off else "none", "orgs_missing": len(missing)})
