"""The Overview's numbers: roll-up states united with the raw events they have not seen.

Each number is re-aggregated from the metric states of ``warehouse_sql/models/overview_*``
(:mod:`app_api.metrics` defines both the state and its merge, once). Per-day numbers read
``overview_daily`` for what it rolled up and the raw events received since its watermark
(the same model's SQL run inline on that tail), so they are exact and current whenever the
roll-up last ran. Landing pages and channels are per session, which a tail cannot extend:
they read ``overview_landing_daily`` / ``overview_channels_daily`` as of their last run.
Without a roll-up (or with ``rollups=False``) the same SQL runs over the raw events, which
is how tests and ``benchmarks/dashboards.py`` prove that roll-ups change no number.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup

from app_api import metrics as M
from app_api.scoped_warehouse import ScopedWarehouse

DAILY = "overview_daily"
LANDING = "overview_landing_daily"
CHANNELS = "overview_channels_daily"
COLUMNS = ", ".join(m.name for m in M.EVENT_METRICS)


def variables(**extra: Any) -> dict[str, Any]:
    """Jinja variables of the overview models: the metrics' one state definitions."""
    return {"states": Markup(M.state_list()), **extra}


def ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def day_start(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)


class OverviewData:
    """Queries for one organization's Overview (``wh`` is already scoped to it)."""

    def __init__(self, wh: ScopedWarehouse, rollups: bool = True) -> None:
        self.wh = wh
        self.rollups = rollups

    def _has(self, model: str) -> bool:
        return self.rollups and self.wh.has_model(model)

    def daily_rows(self, first: dt.date, last: dt.date) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """SQL (template, parameters, variables) of rows ``day, magnet_id, device, country,
        <metric states>`` covering the days [first, last]: rolled-up rows plus the tail."""
        mark = 0
        if self._has(DAILY):  # one full run: every day's events received before its mark
            mark = int(self.wh.query("SELECT max(watermark_ms) AS w FROM {{ ref('overview_daily') }}"
                                     )[0]["w"] or 0)
        params = {"tail_lo": ms(day_start(first)),
                  "tail_hi": ms(day_start(last) + dt.timedelta(days=1)),
                  "tail_mark": mark, "rf": first, "rl": last}
        tail = Markup(self.wh.model_sql(DAILY, variables(tail=True)))
        parts = [f"SELECT day, magnet_id, device, country, {COLUMNS} FROM ({{{{ tail }}}}) AS t"]
        if mark:
            parts.insert(0, f"SELECT day, magnet_id, device, country, {COLUMNS} "
                            "FROM {{ ref('overview_daily') }} WHERE day >= {rf:Date} AND day <= {rl:Date}")
        return " UNION ALL ".join(parts), params, {"tail": tail}

    def windows(self, spans: dict[str, tuple[dt.date, dt.date]], extra: str,
                params: dict[str, Any]) -> dict[str, dict[str, float]]:
        """Every metric for every span of whole days [first, last], in one query."""
        lo = min(a for a, _ in spans.values())
        hi = max(b for _, b in spans.values())
        rows_sql, p, v = self.daily_rows(lo, hi)
        parts = []
        for i, (a, b) in enumerate(spans.values()):
            p[f"wa{i}"], p[f"wb{i}"] = a, b
            parts.append(M.merge_list(f"day >= {{wa{i}:Date}} AND day <= {{wb{i}:Date}}", f"__{i}"))
        rows = self.wh.query(f"SELECT {', '.join(parts)} FROM ({rows_sql}) AS u WHERE 1{extra}",
                             {**params, **p}, v)
        row = rows[0] if rows else {}
        return {name: M.finish({m.name: row.get(f"{m.name}__{i}", 0) for m in M.EVENT_METRICS})
                for i, name in enumerate(spans)}

    def recent(self, a: dt.datetime, b: dt.datetime, extra: str,
               params: dict[str, Any]) -> dict[str, float]:
        """Every metric over the raw events of [a, b) (a bounded scan: the real-time tile)."""
        rows = self.wh.query(
            f"SELECT {M.select_list()} FROM {{{{ source('events') }}}} "
            "WHERE ts >= fromUnixTimestamp64Milli({ra:Int64}, 'UTC') "
            "AND ts < fromUnixTimestamp64Milli({rb:Int64}, 'UTC')" + extra,
            {**params, "ra": ms(a), "rb": ms(b)})
        return M.finish(rows[0] if rows else {})

    def grouped_minutes(self, a: dt.datetime, b: dt.datetime, extra: str,
                        params: dict[str, Any]) -> list[dict[str, Any]]:
        """Metrics per minute over the raw events of [a, b) (the real-time chart)."""
        return self.wh.query(
            f"SELECT toStartOfMinute(ts) AS key, {M.select_list()} FROM {{{{ source('events') }}}} "
            "WHERE ts >= fromUnixTimestamp64Milli({ra:Int64}, 'UTC') "
            "AND ts < fromUnixTimestamp64Milli({rb:Int64}, 'UTC')" + extra +
            " GROUP BY key ORDER BY key", {**params, "ra": ms(a), "rb": ms(b)})

    def grouped(self, key: str, first: dt.date, last: dt.date, extra: str,
                params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Metrics per ``key`` (magnet_id, country or day) over the days [first, last]."""
        rows_sql, p, v = self.daily_rows(first, last)
        cond = " AND magnet_id != ''" if key == "magnet_id" else ""
        order = "key" if key == "day" else "visitors DESC, key"
        return self.wh.query(
            f"SELECT {key} AS key, {M.merge_list()} FROM ({rows_sql}) AS u WHERE 1{extra}{cond} "
            f"GROUP BY key ORDER BY {order} LIMIT {{n:UInt32}}", {**params, **p, "n": limit}, v)

    def sessions_grouped(self, dimension: str, first: dt.date, last: dt.date, extra: str,
                         params: dict[str, Any], limit: int) -> tuple[str, list[dict[str, Any]]]:
        """Metrics per landing page or channel: (source read, rows)."""
        model, key = (LANDING, "landing_page") if dimension == "landing_page" else (CHANNELS, "channel")
        p = {**params, "start": first, "end": last + dt.timedelta(days=1), "n": limit}
        if self._has(model):
            source, v = model, {}
            rows_from = f"{{{{ ref('{model}') }}}}"
        elif model == CHANNELS and not self.wh.has_model("sessions"):
            return "sessions", []
        else:
            source = "events" if model == LANDING else "sessions"
            v = {"inline": Markup(self.wh.model_sql(model, variables(partitioned=True)))}
            rows_from = "({{ inline }})"
        rows = self.wh.query(
            f"SELECT {key} AS key, {M.merge_list()} FROM {rows_from} AS r "
            "WHERE day >= {start:Date} AND day < {end:Date}" + extra +
            " GROUP BY key ORDER BY visitors DESC, key LIMIT {n:UInt32}", p, v)
        return source, rows
