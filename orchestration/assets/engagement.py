"""Funnels and lead cohorts: SQL models over events and sessions."""

from dagster import AssetCheckResult, asset_check

from orchestration.assets.sql_models import sql_model_asset
from orchestration.resources import WarehouseResource

funnels = sql_model_asset(
    "funnels", "View -> form start -> lead -> confirmed -> purchase per magnet and variant, "
    "Wilson CIs.", deps=["events"])


@asset_check(asset=funnels, description="A funnel step never has more visitors than the "
             "step before it.")
def funnel_steps_never_grow(warehouse: WarehouseResource) -> AssetCheckResult:
    """Visitors are non-increasing along the steps of every funnel."""
    with warehouse.open() as wh:
        bad = int(wh.scalar(
            "SELECT count() FROM {{ ref('funnels') }} WHERE visitors > previous_visitors") or 0)
    return AssetCheckResult(passed=bad == 0, metadata={"growing_steps": bad})


cohorts = sql_model_asset(
    "cohorts", "Leads by acquisition week, channel and magnet x weeks since: retention and "
    "value.", deps=["sessions", "events"])


@asset_check(asset=cohorts, description="Cohort sizes add up to the visitors who opted in.")
def cohorts_count_every_lead(warehouse: WarehouseResource) -> AssetCheckResult:
    """The week-0 cells of all cohorts hold each lead (a visitor's first opt-in) once."""
    with warehouse.open() as wh:
        in_cohorts = int(wh.scalar(
            "SELECT sum(leads) FROM {{ ref('cohorts') }} WHERE weeks_since = 0") or 0)
        leads = int(wh.scalar(
            "SELECT uniqExact(org_id, visitor_id) FROM {{ source('events') }} "
            "WHERE event = 'lead' AND visitor_id != ''") or 0)
    return AssetCheckResult(passed=in_cohorts == leads,
                            metadata={"in_cohorts": in_cohorts, "lead_visitors": leads})
