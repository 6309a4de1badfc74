"""Jobs: the daily partitions, the analytics that roll them up, lake compaction."""


from dagster import AssetSelection, OpExecutionContext, define_asset_job, job, op

from orchestration.partitions import DAILY
from orchestration.resources import WarehouseResource

PARTITIONED = AssetSelection.assets("sessions", "experiment_results")

#: Today's (and, just after midnight, yesterday's) sessions and experiment looks.
analytics_daily = define_asset_job(
    "analytics_daily", selection=PARTITIONED, partitions_def=DAILY,
    description="Recompute the daily partitions of sessions and experiment results.")

#: Everything computed over the whole history once the daily partitions are fresh.
analytics_rollup = define_asset_job(
    "analytics_rollup",
    selection=AssetSelection.groups("analytics") - PARTITIONED,
    description="Funnels, cohorts, conversion paths, lead values, attribution and ROI.")


@op(description="Merge small Parquet files of the lake; delete retired files after a grace period.")
def compact_events(context: OpExecutionContext, warehouse: WarehouseResource) -> None:
    with warehouse.open() as wh:
        result = wh.compact()
    context.log.info(f"compaction: {result}")


@job(description="Compact the embedded lake (a no-op on a ClickHouse server).")
def compact_lake() -> None:
    compact_events()
