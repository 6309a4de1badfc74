"""Maintenance jobs: lake compaction."""


from dagster import OpExecutionContext, job, op

from orchestration.resources import WarehouseResource


@op(description="Merge small Parquet files of the lake; delete retired files after a grace period.")
def compact_events(context: OpExecutionContext, warehouse: WarehouseResource) -> None:
    with warehouse.open() as wh:
        result = wh.compact()
    context.log.info(f"compaction: {result}")


@job(description="Compact the embedded lake (a no-op on a ClickHouse server).")
def compact_lake() -> None:
    compact_events()
