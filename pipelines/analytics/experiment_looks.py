"""Experiment statistics at every daily look (cumulative data), for the sequential chart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from experiments.stats import Comparison, VariantData, analyze

#: Users per (experiment, variant, exposure day, conversion day): a user is exposed at their
#: first exposure and converts at their first primary-metric event at or after it that
#: belongs to the experiment (the ``belongs`` macro in warehouse_sql/models/macros/
#: experiments.sql, which the promotion readout applies too). Events from ``{end}`` on are
#: not counted. One scan, one aggregation per (visitor, experiment).
DAILY_SQL = """
{%- from 'macros/experiments.sql' import belongs %}
WITH
    arrayZip({orgs:Array(String)}, {keys:Array(String)}) AS experiment_keys,
    arrayZip({orgs:Array(String)}, {magnets:Array(String)}) AS experiment_magnets,
tagged AS (
    -- each exposure or candidate conversion with the indexes of the experiments it counts for
    SELECT cityHash64(org_id, visitor_id) AS vk, org_id, event, ts, variant,
        if(event = 'exposure', [indexOf(experiment_keys, (org_id, experiment_id))],
           arrayFilter(i -> experiment_keys[i].1 = org_id AND {metrics:Array(String)}[i] = event
                            AND {{ belongs('experiment_keys[i].2', 'experiment_magnets[i].2') }},
                       arrayEnumerate(experiment_keys))) AS xs
    FROM {{ source('events') }}
    WHERE visitor_id != '' AND ts < toDateTime64({end:Date}, 3, 'UTC')
      AND org_id IN {orgs:Array(String)}
      AND (event = 'exposure' OR event IN {metrics:Array(String)})
),
rows AS (
    SELECT vk, org_id, event, ts, variant, arrayJoin(xs) AS x FROM tagged
),
users AS (
    SELECT x, any(org_id) AS u_org,
        minIf(toUnixTimestamp64Milli(ts), event = 'exposure') AS t_exp,
        argMinIf(variant, ts, event = 'exposure') AS u_variant,
        groupArrayIf(toUnixTimestamp64Milli(ts), event = {metrics:Array(String)}[x]) AS conv
    FROM rows
    WHERE x > 0
    GROUP BY vk, x
    HAVING countIf(event = 'exposure') > 0
)
SELECT u_org AS org_id, {keys:Array(String)}[x] AS experiment_key, u_variant AS variant,
    toDate(fromUnixTimestamp64Milli(t_exp, 'UTC')) AS exposure_day,
    if(arrayExists(c -> c >= t_exp, conv),
       toDate(fromUnixTimestamp64Milli(arrayMin(arrayFilter(c -> c >= t_exp, conv)), 'UTC')),
       NULL) AS conversion_day,
    toInt64(count()) AS users
FROM users
GROUP BY org_id, experiment_key, variant, exposure_day, conversion_day
"""

COLUMNS = ["org_id", "experiment_key", "look_date", "method", "variant", "baseline", "users",
           "conversions", "conversion_rate", "lift", "ci_low", "ci_high", "p_value",
           "p_value_adjusted", "chance_to_beat", "significant", "srm_p_value", "error"]


def look_dates(daily: pl.DataFrame, started: dt.date | None, last: dt.date) -> list[dt.date]:
    """Every day from the start (or the first exposure) to ``last``."""
    first = started or (daily["exposure_day"].min() if daily.height else None)
    if first is None or not isinstance(first, dt.date) or first > last:
        return []
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def looks(experiment: dict[str, Any], daily: pl.DataFrame, dates: Sequence[dt.date],
          methods: Sequence[str] = ("sequential",)) -> list[dict[str, Any]]:
    """One row per look date, method and variant with ``analyze``'s verdict at that look.

    Args:
        experiment: ``org_id, key, variants`` (baseline first), ``weights``, ``alpha``.
        daily: this experiment's rows of :data:`DAILY_SQL`.
        dates: the looks; each counts users exposed and conversions made by its end.
        methods: ``experiments.stats`` methods ("sequential", "fixed", "bayesian").
    """
    variants: list[str] = experiment["variants"]
    weights: list[float] = experiment["weights"]
    days = np.array(dates, dtype="datetime64[D]")
    users = {v: _cumulative(daily, v, "exposure_day", days) for v in variants}
    converted = {v: _cumulative(daily, v, "conversion_day", days) for v in variants}
    rows = []
    for i, day in enumerate(dates):
        data = [VariantData(v, int(users[v][i]), conversions=float(converted[v][i]),
                            expected_weight=w) for v, w in zip(variants, weights, strict=True)]
        for method in methods:
            result = analyze(data, method=method, alpha=experiment["alpha"])  # type: ignore[arg-type]
            by_variant = {c.variant: c for c in result.comparisons}
            for arm in data:
                rows.append({
                    "org_id": experiment["org_id"], "experiment_key": experiment["key"],
                    "look_date": day, "method": method, "variant": arm.name,
                    "baseline": variants[0], "users": arm.users,
                    "conversions": int(arm.conversions or 0),
                    "conversion_rate": (arm.conversions or 0) / arm.users if arm.users else None,
                    "srm_p_value": result.srm_p_value,
                    **_comparison(by_variant.get(arm.name), result.error),
                })
    return rows


def _cumulative(daily: pl.DataFrame, variant: str, day_column: str,
                days: np.ndarray) -> np.ndarray:
    """Users of ``variant`` whose ``day_column`` is on or before each of ``days``."""
    sub = daily.filter((pl.col("variant") == variant) & pl.col(day_column).is_not_null())
    if sub.height == 0:
        return np.zeros(len(days), dtype=np.int64)
    sub = sub.group_by(day_column).agg(pl.col("users").sum()).sort(day_column)
    when = sub[day_column].to_numpy().astype("datetime64[D]")
    total = np.concatenate([[0], np.cumsum(sub["users"].to_numpy())])
    return total[np.searchsorted(when, days, side="right")]


def _comparison(c: Comparison | None, error: str | None) -> dict[str, Any]:
    """The comparison's numbers; the baseline row has none (NULL lift, not significant)."""
    names = ("lift", "ci_low", "ci_high", "p_value", "p_value_adjusted", "chance_to_beat")
    if c is None:
        return {**dict.fromkeys(names), "significant": False, "error": error or ""}
    return {**{n: getattr(c, n) for n in names}, "significant": bool(c.significant),
            "error": c.error or error or ""}


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows of :func:`looks` as a frame with stable types (also when empty)."""
    schema = {"org_id": pl.String, "experiment_key": pl.String, "look_date": pl.Date,
              "method": pl.String, "variant": pl.String, "baseline": pl.String,
              "users": pl.Int64, "conversions": pl.Int64, "conversion_rate": pl.Float64,
              "lift": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
              "p_value": pl.Float64, "p_value_adjusted": pl.Float64,
              "chance_to_beat": pl.Float64, "significant": pl.Boolean,
              "srm_p_value": pl.Float64, "error": pl.String}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
