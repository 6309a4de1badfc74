"""Daily partitions (UTC) and what a run of a partitioned asset should recompute."""

import datetime as dt
import logging
import warnings
from dataclasses import dataclass

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    BetaWarning,
    DailyPartitionsDefinition,
    FreshnessPolicy,
)

from kernel.settings import Settings, get_settings
from kernel.warehouse import open_warehouse

log = logging.getLogger(__name__)

# Single-run backfills are what a SQL model over a range of days wants; the parameter is
# marked beta in Dagster 1.x, which would print a warning for every asset that uses it.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)

START_FILE = "partitions_start"


def first_partition_day(settings: Settings | None = None) -> dt.date:
    """The first daily partition: the setting, else the first day with events (remembered).

    The day is looked up once and written to ``<data dir>/partitions_start``, so every
    process (webserver, daemon, each run) agrees on the same partitions even after older
    events are compacted or deleted. Without events yet, today: nothing to show before it.
    """
    settings = settings or get_settings()
    if settings.partitions_start:
        return dt.date.fromisoformat(settings.partitions_start)
    marker = settings.data_path / START_FILE
    try:
        return dt.date.fromisoformat(marker.read_text().strip())
    except (OSError, ValueError):
        pass
    first = _first_event_day(settings)
    if first is None:
        return dt.datetime.now(dt.UTC).date()
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(first.isoformat())
    tmp.replace(marker)
    return first


def _first_event_day(settings: Settings) -> dt.date | None:
    if settings.warehouse_url == "lake" and not (settings.lake_dir / "events").is_dir():
        return None  # nothing ingested yet; do not create a lake just to look
    try:
        wh = open_warehouse(settings)
        try:
            if wh.count_events() == 0:
                return None
            day = wh.scalar("SELECT toDate(min(ts)) FROM {{ source('events') }}")
        finally:
            wh.close()
    except Exception as exc:  # an unreachable warehouse must not stop Dagster from loading
        log.warning("first day with events unknown (%s); partitions start today", exc)
        return None
    return day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10])


#: Today's partition is open (end_offset=1): hourly runs refresh it while events arrive.
DAILY = DailyPartitionsDefinition(start_date=first_partition_day().isoformat(), end_offset=1,
                                  timezone="UTC")
#: A backfill of many days runs once over the whole range, not once per day.
SINGLE_RUN = BackfillPolicy.single_run()


#: Freshness shown in the UI: daily partitions are refreshed hourly, roll-ups after them.
HOURLY_FRESH = FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=3),
                                           warn_window=dt.timedelta(minutes=90))
ROLLUP_FRESH = FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=6),
                                           warn_window=dt.timedelta(hours=2))


@dataclass(frozen=True)
class Window:
    """Days [start, end) to recompute; ``keys`` are their partition keys."""

    start: dt.date
    end: dt.date
    keys: list[str]


def run_window(context: AssetExecutionContext) -> Window | None:
    """The partitions of this run, or None for a run without partitions (recompute all)."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    keys = list(context.partition_keys)
    window = context.partition_time_window
    return Window(window.start.date(), window.end.date(), keys)
