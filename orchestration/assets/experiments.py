"""Experiment results at every daily look, for the sequential chart and the promotion sensor."""

import datetime as dt
from typing import Any

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    asset,
    asset_check,
)

from kernel.schema import EVENT_TYPES
from kernel.warehouse import Warehouse
from orchestration.partitions import DAILY, HOURLY_FRESH, SINGLE_RUN, run_window
from orchestration.resources import MetadataResource, WarehouseResource
from pipelines.analytics import metadata as meta
from pipelines.analytics import schemas
from pipelines.analytics.experiment_looks import DAILY_SQL, frame, look_dates, looks

OWNERS = ["team:experimentation"]


class ExperimentResultsConfig(Config):
    """Which inference methods to store (the promotion sensor reads "sequential")."""

    methods: list[str] = ["sequential"]


@asset(group_name="experiments", owners=OWNERS, kinds={"clickhouse", "python"},
       deps=["events"], partitions_def=DAILY, backfill_policy=SINGLE_RUN, freshness_policy=HOURLY_FRESH)
def experiment_results(context: AssetExecutionContext, config: ExperimentResultsConfig,
                       warehouse: WarehouseResource,
                       metadata: MetadataResource) -> MaterializeResult:
    """Per running/promoted experiment and daily look: users, conversions, lift, CI, p, SRM."""
    with metadata.session() as s:
        experiments = [e for e in meta.experiments(s) if _analysable(context, e)]
    window = run_window(context)
    with warehouse.open() as wh:
        if window is not None:
            end = window.end
        else:
            newest = wh.scalar("SELECT max(ts) FROM {{ source('events') }}")
            end = (newest.date() if newest else dt.date.today()) + dt.timedelta(days=1)
        daily = _daily(wh, experiments, end)
        rows = []
        for e in experiments:
            data = daily.filter((pl.col("org_id") == e["org_id"])
                                & (pl.col("experiment_key") == e["key"]))
            last = min(end - dt.timedelta(days=1), e["stopped"] or end)
            dates = look_dates(data, e["started"], last)
            if window is not None:
                dates = [d for d in dates if d >= window.start]
            rows += looks(e, data, dates, config.methods)
        table = schemas.to_arrow(frame(rows), schemas.EXPERIMENT_RESULTS)
        written = wh.write_table("experiment_results", table, partition_by="look_date",
                                 partitions=window.keys if window else None,
                                 order_by="(org_id, experiment_key, look_date, method, variant)")
    return MaterializeResult(metadata={"rows": written, "experiments": len(experiments)})


def _analysable(context: AssetExecutionContext, e: dict[str, Any]) -> bool:
    if e["metric"] in EVENT_TYPES and e["variants"]:
        return True
    context.log.warning(f"experiment {e['key']}: primary metric {e['metric']!r} is not an "
                        "event type or there are no variants; not analysed")
    return False


def _daily(wh: Warehouse, experiments: list[dict[str, Any]], end: dt.date) -> pl.DataFrame:
    schema = {"org_id": pl.String, "experiment_key": pl.String, "variant": pl.String,
              "exposure_day": pl.Date, "conversion_day": pl.Date, "users": pl.Int64}
    if not experiments:
        return pl.DataFrame(schema=schema)
    params = {"orgs": [e["org_id"] for e in experiments], "keys": [e["key"] for e in experiments],
              "magnets": [e["magnet_id"] for e in experiments],
              "metrics": [e["metric"] for e in experiments], "end": end}
    return wh.query_polars(DAILY_SQL, params).cast(schema)  # type: ignore[arg-type]


@asset_check(asset=experiment_results, description="Each look of an experiment has one row "
             "per variant, and every row without an error has a finite lift (but the baseline).")
def experiment_results_complete(warehouse: WarehouseResource) -> AssetCheckResult:
    """No look is missing a variant and no unexplained NULL reaches the chart."""
    with warehouse.open() as wh:
        bad = wh.query(
            "SELECT count() AS n FROM {{ ref('experiment_results') }} "
            "WHERE error = '' AND variant != baseline AND (lift IS NULL OR isNaN(lift))")[0]["n"]
        uneven = wh.query(
            "SELECT count() AS n FROM (SELECT count() AS c, "
            "uniqExact(look_date) * uniqExact(variant) AS expected "
            "FROM {{ ref('experiment_results') }} GROUP BY org_id, experiment_key, method) AS g "
            "WHERE c != expected")[0]["n"]
    return AssetCheckResult(passed=bad == 0 and uneven == 0,
                            metadata={"rows_without_lift": int(bad), "uneven_looks": int(uneven)})
