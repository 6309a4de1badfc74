"""Sessions with GA4's default channel grouping (warehouse_sql/models/sessions.sql), by day."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    MaterializeResult,
    asset,
    asset_check,
)

from orchestration.partitions import DAILY, HOURLY_FRESH, SINGLE_RUN, run_window
from orchestration.resources import WarehouseResource

OWNERS = ["team:growth-analytics"]


@asset(
    group_name="analytics",
    owners=OWNERS,
    kinds={"clickhouse", "sql"},
    deps=["events"],
    partitions_def=DAILY,
    backfill_policy=SINGLE_RUN, freshness_policy=HOURLY_FRESH,
    tags={"layer": "base"},
)
def sessions(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """Sessions (30 min of inactivity or a new campaign) with source, medium and GA4 channel."""
    window = run_window(context)
    with warehouse.open() as wh:
        if window is None:
            rows = wh.materialize("sessions")
        else:
            rows = wh.materialize(
                "sessions", {"partitioned": True},
                parameters={"start": window.start, "end": window.end}, partitions=window.keys)
    context.log.info(f"sessions: {rows} rows for {len(window.keys) if window else 'all'} days")
    return MaterializeResult(metadata={"rows": rows, "days": len(window.keys) if window else -1})


@asset_check(asset=sessions, description="Every event with a visitor belongs to exactly one "
             "session (exact once every day with events has been materialized).")
def sessions_cover_events(warehouse: WarehouseResource) -> AssetCheckResult:
    """Events counted in sessions equal the events with a visitor id."""
    with warehouse.open() as wh:
        counted = int(wh.scalar("SELECT sum(events) FROM {{ ref('sessions') }}") or 0)
        events = int(wh.scalar(
            "SELECT count() FROM {{ source('events') }} WHERE visitor_id != ''") or 0)
    return AssetCheckResult(passed=counted == events, severity=AssetCheckSeverity.WARN,
                            metadata={"in_sessions": counted, "events": events})


@asset_check(asset=sessions, description="The newest session is no older than a day before "
             "the newest event: the daily partitions keep up with ingestion.")
def sessions_fresh(warehouse: WarehouseResource) -> AssetCheckResult:
    """Sessions lag the newest event by less than a day."""
    with warehouse.open() as wh:
        lag = wh.scalar(
            "SELECT dateDiff('second', (SELECT max(session_start) FROM {{ ref('sessions') }}), "
            "(SELECT max(ts) FROM {{ source('events') }}))")
    lag_s = int(lag or 0)
    return AssetCheckResult(passed=lag_s < 86_400, severity=AssetCheckSeverity.WARN,
                            metadata={"lag_seconds": lag_s})
