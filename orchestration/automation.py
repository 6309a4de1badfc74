"""Schedules and sensors: hourly daily partitions, then the roll-up of the analytics.

Both start in the RUNNING state, so the Dagster daemon started by ``lodestone up`` keeps the
analytics current without anyone switching them on in the UI.
"""

import datetime as dt

from dagster import (
    AssetKey,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    ScheduleEvaluationContext,
    run_status_sensor,
    schedule,
)

from orchestration.jobs import analytics_daily, analytics_rollup
from orchestration.partitions import DAILY

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@schedule(job=analytics_daily, cron_schedule="10 * * * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.RUNNING,
          description="Every hour: today's partition; until 02:00 also yesterday's, to close "
                      "it. The very first run backfills every day in one run.")
def analytics_hourly(context: ScheduleEvaluationContext) -> list[RunRequest]:
    now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    today = now.date().isoformat()
    if context.instance.get_latest_materialization_event(AssetKey("sessions")) is None:
        first = DAILY.get_first_partition_key()
        return [RunRequest(run_key=f"backfill@{today}",
                           tags={RANGE_START: first or today, RANGE_END: today})]
    days = [now.date()] + ([now.date() - dt.timedelta(days=1)] if now.hour < 2 else [])
    return [RunRequest(run_key=f"{d.isoformat()}@{now:%Y-%m-%dT%H}", partition_key=d.isoformat())
            for d in days]


@run_status_sensor(run_status=DagsterRunStatus.SUCCESS, monitored_jobs=[analytics_daily],
                   request_job=analytics_rollup, minimum_interval_seconds=60,
                   default_status=DefaultSensorStatus.RUNNING,
                   description="After a daily partition run succeeds, roll the analytics up.")
def rollup_after_daily(context: RunStatusSensorContext) -> RunRequest:
    return RunRequest(run_key=context.dagster_run.run_id)
