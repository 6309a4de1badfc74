"""Schedules and sensors that keep every number current with nobody acting.

All start in the RUNNING state, so the Dagster daemon started by ``lodestone up`` (or in
production) runs them without anyone switching them on in the UI. Each tick launches at
most one run per job, and none while an identical one is still waiting in the queue:

* ``refresh_metrics_on_new_events`` — every ``LODESTONE_REFRESH_INTERVAL_S`` (60 s): when
  the events changed since the last refresh, one ``refresh_metrics`` run (the API's
  ``/v1/stats/daily-magnet-metrics``), never two at once.
* ``analytics_hourly`` — hourly: ONE ``analytics_cycle`` run over today's partition (and
  yesterday's until 02:00) followed, in the same run, by the roll-up over them; the very
  first tick backfills every day in that one run.
* ``rollup_after_daily`` — when an ``analytics_daily`` run (a backfill from the UI)
  succeeds: one roll-up, unless one is already queued (it will read the fresh partitions).
* ``compact_lake_every_10_minutes`` — merges the lake's small files.
"""

from __future__ import annotations

import datetime as dt

from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    run_status_sensor,
    schedule,
    sensor,
)

from kernel.settings import get_settings
from orchestration.alerts import alerting
from orchestration.jobs import (
    analytics_cycle,
    analytics_daily,
    analytics_rollup,
    compact_lake,
    refresh_metrics,
)
from orchestration.partitions import DAILY
from orchestration.resources import WarehouseResource

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
RUN_KEY = "dagster/run_key"

#: Runs that have not finished: a new identical one would only repeat their work.
IN_FLIGHT = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
             DagsterRunStatus.STARTED]
WAITING = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED]


def pending_runs(instance: DagsterInstance, job_name: str,
                 statuses: list[DagsterRunStatus]) -> int:
    """How many runs of ``job_name`` are in one of ``statuses``."""
    return len(instance.get_run_ids(RunsFilter(job_name=job_name, statuses=statuses), limit=5))


@schedule(job=analytics_cycle, cron_schedule="10 * * * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.RUNNING,
          description="Every hour, one run: today's partition (until 02:00 also yesterday's, "
                      "to close it), then the roll-up. The first run backfills every day.")
@alerting("schedule", "analytics_hourly", ["sessions", "experiment_results", "analytics roll-up"])
def analytics_hourly(context: ScheduleEvaluationContext) -> RunRequest:
    now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    today = now.date().isoformat()
    if context.instance.get_latest_materialization_event(AssetKey("sessions")) is None:
        first = DAILY.get_first_partition_key()
        return RunRequest(run_key=f"backfill@{today}",
                          tags={RANGE_START: first or today, RANGE_END: today})
    if now.hour < 2:
        yesterday = (now.date() - dt.timedelta(days=1)).isoformat()
        return RunRequest(run_key=f"{yesterday}..{today}@{now:%Y-%m-%dT%H}",
                          tags={RANGE_START: yesterday, RANGE_END: today})
    return RunRequest(run_key=f"{today}@{now:%Y-%m-%dT%H}", partition_key=today)


@run_status_sensor(run_status=DagsterRunStatus.SUCCESS, monitored_jobs=[analytics_daily],
                   request_job=analytics_rollup, minimum_interval_seconds=30,
                   default_status=DefaultSensorStatus.RUNNING,
                   description="After a daily partition run succeeds, roll the analytics up "
                               "once (not if a roll-up is already waiting to start).")
@alerting("sensor", "rollup_after_daily", ["analytics roll-up"])
def rollup_after_daily(context: RunStatusSensorContext) -> RunRequest | SkipReason:
    if pending_runs(context.instance, analytics_rollup.name, WAITING):
        return SkipReason("a roll-up is already queued; it will read these partitions")
    daily = context.dagster_run
    return RunRequest(run_key=f"rollup-after:{daily.tags.get(RUN_KEY, daily.run_id)}")


def _events_version(warehouse: WarehouseResource) -> str:
    """Changes whenever events are added or erased: their count and newest receipt."""
    with warehouse.open() as wh:
        row = wh.query("SELECT count() AS n, toString(max(received_at)) AS newest "
                       "FROM {{ source('events') }}")[0]
    return f"{row['n']}@{row['newest']}"


@sensor(job=refresh_metrics, name="refresh_metrics_on_new_events",
        minimum_interval_seconds=get_settings().refresh_interval_s,
        default_status=DefaultSensorStatus.RUNNING,
        description="Every LODESTONE_REFRESH_INTERVAL_S seconds: refresh the daily magnet "
                    "metrics when events arrived or were erased since the last refresh.")
@alerting("sensor", "refresh_metrics_on_new_events", ["daily_magnet_metrics"])
def refresh_metrics_on_new_events(context: SensorEvaluationContext,
                                  warehouse: WarehouseResource) -> RunRequest | SkipReason:
    """One refresh per change of the events, never two at once."""
    version = _events_version(warehouse)
    if pending_runs(context.instance, refresh_metrics.name, IN_FLIGHT):
        return SkipReason("a refresh is still running; the next tick picks new events up")
    run_key = f"events@{version}"
    if version == context.cursor:
        last = context.instance.get_runs(RunsFilter(job_name=refresh_metrics.name), limit=1)
        if not last or last[0].status != DagsterRunStatus.FAILURE:
            return SkipReason("no new events since the last refresh")
        run_key += f"/retry-after-{last[0].run_id[:8]}"  # a failed refresh is tried again
    context.update_cursor(version)
    return RunRequest(run_key=run_key)


compact_lake_every_10_minutes = ScheduleDefinition(
    name="compact_lake_every_10_minutes", job=compact_lake, cron_schedule="*/10 * * * *",
    execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING,
    description="Every 10 minutes: merge the lake's small files (a no-op on ClickHouse).")
