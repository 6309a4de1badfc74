"""The daily retention job: each organization's policy applied (privacy/retention.py)."""

from dagster import DefaultScheduleStatus, OpExecutionContext, ScheduleDefinition, job, op

from kernel.metadata.db import make_engine, make_session_factory
from kernel.settings import get_settings
from orchestration.resources import MetadataResource, WarehouseResource


@op(description="Delete raw events and unconfirmed leads past each organization's retention; "
                "report what was removed.")
def apply_retention(context: OpExecutionContext, warehouse: WarehouseResource,
                    metadata: MetadataResource) -> dict:  # type: ignore[type-arg]
    from privacy.retention import apply

    engine = make_engine(metadata.metadata_url or get_settings().resolved_metadata_url)
    try:
        with warehouse.open() as wh:
            report = apply(make_session_factory(engine), get_settings(), wh)
    finally:
        engine.dispose()
    for org, done in report.items():
        context.log.info(f"retention {org}: {done}")
    context.add_output_metadata({"removed": report})
    return report


@job(tags={"lodestone/lane": "heavy"},
     description="Apply retention policies (raw events, unconfirmed leads); tombstones kept.")
def retention() -> None:
    apply_retention()


retention_daily = ScheduleDefinition(job=retention, cron_schedule="17 3 * * *",
                                     execution_timezone="UTC", name="retention_daily",
                                     default_status=DefaultScheduleStatus.RUNNING)
