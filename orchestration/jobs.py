"""Jobs: the daily partitions, the analytics that roll them up, the metrics, lake compaction.

Every job carries a ``lodestone/lane`` tag. The instance that ``lodestone up`` writes
(``lodestone.services.instance_yaml``) lets one ``heavy`` run at a time use the second core
while the ``light`` metrics refresh always has its own, so fresh numbers never queue
behind an hour's roll-up.
"""


from dagster import AssetSelection, OpExecutionContext, define_asset_job, job, op

from orchestration.partitions import DAILY
from orchestration.resources import WarehouseResource

LANE = "lodestone/lane"
HEAVY = {LANE: "heavy"}
LIGHT = {LANE: "light"}

PARTITIONED = AssetSelection.assets("sessions", "experiment_results")

#: Today's (and, just after midnight, yesterday's) sessions and experiment looks.
analytics_daily = define_asset_job(
    "analytics_daily", selection=PARTITIONED, partitions_def=DAILY, tags=HEAVY,
    description="Recompute the daily partitions of sessions and experiment results.")

#: Everything computed over the whole history once the daily partitions are fresh.
analytics_rollup = define_asset_job(
    "analytics_rollup",
    selection=AssetSelection.groups("analytics") - PARTITIONED, tags=HEAVY,
    description="Funnels, cohorts, conversion paths, lead values, attribution and ROI.")

#: The hourly cycle in ONE run: today's partitions, then the roll-up over them. One process
#: imports the definitions once (seconds of CPU on 2 cores) instead of once per job.
analytics_cycle = define_asset_job(
    "analytics_cycle", selection=AssetSelection.groups("analytics"), tags=HEAVY,
    description="The hourly cycle: the day's sessions and experiment results, then funnels, "
                "cohorts, conversion paths, lead values, attribution and ROI over them.")

#: The numbers behind /v1/stats/daily-magnet-metrics and the home page.
refresh_metrics = define_asset_job(
    "refresh_metrics", selection=AssetSelection.groups("metrics"), tags=LIGHT,
    description="Daily metrics per magnet and variant, refreshed when new events arrive.")


@op(description="Merge small Parquet files of the lake; delete retired files after a grace period.")
def compact_events(context: OpExecutionContext, warehouse: WarehouseResource) -> None:
    with warehouse.open() as wh:
        result = wh.compact()
    context.log.info(f"compaction: {result}")


@job(tags=HEAVY, description="Compact the embedded lake (a no-op on a ClickHouse server).")
def compact_lake() -> None:
    compact_events()
