"""Daily partitions (UTC) and what a run of a partitioned asset should recompute."""

import datetime as dt
import warnings
from dataclasses import dataclass

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    BetaWarning,
    DailyPartitionsDefinition,
    FreshnessPolicy,
)

# Single-run backfills are what a SQL model over a range of days wants; the parameter is
# marked beta in Dagster 1.x, which would print a warning for every asset that uses it.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)

#: Today's partition is open (end_offset=1): hourly runs refresh it while events arrive.
DAILY = DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1, timezone="UTC")
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
