"""The Overview's numbers: roll-up states united with the raw events they have not seen.

Each number is re-aggregated from the metric states of ``warehouse_sql/models/overview_*``
(:mod:`app_api.metrics` defines both the state and its merge, once). Per-day numbers read
``overview_daily`` for what it rolled up and the raw events received since its watermark
(the same model's SQL run inline on that tail), so they are exact and current whenever the
roll-up last ran. Landing pages and channels are per session, which a tail cannot extend:
they read ``overview_landing_daily`` / ``overview_channels_daily`` as of their last run.
Without a roll-up (or with ``rollups=False``) the same SQL runs over the raw events, which
is how tests and ``benchmarks/dashboards.py`` prove that roll-ups change no number.

Speed (issue #13: <= 200 ms at 10M events): what costs is uniting the visitor-hash sets of
every rolled-up row of the period (5M hashes for 30 days of 10M events: ~0.4 s idle, 2-4 s
under load), not the tail (pruned by ``received_at``: ~15 ms) nor chDB. Roll-ups only change
when a run publishes, so the rolled-up part of each answer is kept per (organization, query,
roll-up version) in :data:`CACHE`, and each call adds only what the tail changes, exactly:
sums add, and a distinct count grows by the tail's visitors *not already in* the rolled-up
set (``|R ∪ T| = |R| + |T \\ R|``), which is a binary search of the
tail's few hashes in the cached sorted arrays. After a new run, a query cached at the
previous watermark is answered from it plus the events received since *that* watermark
while the new version is computed in a background thread; only a query never asked
before pays the union (0.8-2.7 s at 10M events under load) in the request.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
from markupsafe import Markup

from app_api import metrics as M
from app_api.scoped_warehouse import ScopedWarehouse

log = logging.getLogger(__name__)

DAILY = "overview_daily"
LANDING = "overview_landing_daily"
CHANNELS = "overview_channels_daily"
COLUMNS = ", ".join(m.name for m in M.EVENT_METRICS)
DISTINCT = tuple(m.name for m in M.EVENT_METRICS if m.agg == "uniqExact")
DIMS = "day, magnet_id, device, country"


class RollupMoved(RuntimeError):
    """The roll-up read was not the version expected (a run published in between)."""


class RollupCache:
    """Answers over roll-ups, keyed by (query, roll-up version): a new run is a new version,
    so an entry is never stale. Bounded by bytes (the visitor-hash arrays: 8 bytes a
    visitor); least recently used entries go first. :meth:`latest` finds a query's answer
    at an older version while :meth:`refresh` computes the new one in the background."""

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[tuple[Hashable, Hashable], tuple[Any, int]] = OrderedDict()
        self._newest: dict[Hashable, Hashable] = {}  # query -> its newest version stored
        self._bytes = 0
        self._lock = threading.Lock()
        self._running: dict[tuple[Hashable, Hashable], threading.Thread] = {}

    def peek(self, query: Hashable, version: Hashable) -> Any:
        with self._lock:
            hit = self._data.get((query, version))
            if hit is None:
                return None
            self._data.move_to_end((query, version))
            return hit[0]

    def latest(self, query: Hashable) -> tuple[Hashable, Any] | None:
        """(version, answer) of the newest version of ``query`` still held, if any."""
        with self._lock:
            version = self._newest.get(query)
            hit = self._data.get((query, version))
            return None if hit is None else (version, hit[0])

    def put(self, query: Hashable, version: Hashable, value: Any) -> None:
        size = _nbytes(value)
        with self._lock:
            if (query, version) in self._data or size > self.max_bytes:
                return
            self._data[(query, version)] = (value, size)
            self._newest[query] = version
            self._bytes += size
            while self._bytes > self.max_bytes:
                (q, v), (_value, freed) = self._data.popitem(last=False)
                self._bytes -= freed
                if self._newest.get(q) == v:
                    del self._newest[q]

    def get(self, query: Hashable, version: Hashable, compute: Callable[[], Any]) -> Any:
        hit = self.peek(query, version)
        if hit is None:  # computed outside the lock: two first callers may both compute
            hit = compute()
            self.put(query, version, hit)
        return hit

    def refresh(self, query: Hashable, version: Hashable, compute: Callable[[], Any]) -> None:
        """Compute ``query`` at ``version`` in a background thread (once at a time)."""
        def run() -> None:
            try:
                self.put(query, version, compute())
            except Exception:  # the next call computes it in the foreground instead
                log.warning("overview cache refresh failed", exc_info=True)
            finally:
                with self._lock:
                    self._running.pop((query, version), None)

        with self._lock:
            if (query, version) in self._running:
                return
            thread = threading.Thread(target=run, name="overview-refresh", daemon=True)
            self._running[(query, version)] = thread
        thread.start()

    def wait(self) -> None:
        """Until every background refresh has finished (tests, benchmarks)."""
        while True:
            with self._lock:
                threads = list(self._running.values())
            if not threads:
                return
            for t in threads:
                t.join()

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._newest.clear()
            self._bytes = 0


#: One per process (the API's workers each keep their own).
CACHE = RollupCache()


def _sorted_sets(groups: dict[Any, list[dict[str, Any]]]) -> dict[Any, list[dict[str, Any]]]:
    """Distinct-count states as uint64 arrays, sorted by the SQL (what :func:`_not_in` searches)."""
    for windows in groups.values():
        for w in windows:
            for name in DISTINCT:
                w[name] = np.asarray(w[name], dtype=np.uint64)
    return groups


def _not_in(hashes: list[int], have: np.ndarray) -> int:
    """How many of the distinct ``hashes`` are not in the sorted array ``have``."""
    if not hashes:
        return 0
    t = np.asarray(hashes, dtype=np.uint64)
    if not have.size:
        return int(t.size)
    at = np.minimum(np.searchsorted(have, t), have.size - 1)
    return int(np.count_nonzero(have[at] != t))


def _nbytes(value: Any) -> int:
    """Bytes an answer holds (its hash arrays; the rest is small)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, dict):
        return 64 + sum(_nbytes(v) for v in value.values())
    if isinstance(value, list):
        return 64 + sum(_nbytes(v) for v in value)
    return 32


def _freeze(params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def variables(**extra: Any) -> dict[str, Any]:
    """Jinja variables of the overview models: the metrics' one state definitions."""
    return {"states": Markup(M.state_list()), **extra}


def ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def day_start(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)


class OverviewData:
    """Queries for one organization's Overview (``wh`` is already scoped to it)."""

    def __init__(self, wh: ScopedWarehouse, rollups: bool = True,
                 cache: RollupCache | None = None, background: bool = True) -> None:
        self.wh = wh
        self.rollups = rollups
        self.cache = CACHE if cache is None else cache
        self.background = background  # after a run, answer from the previous version meanwhile

    def _has(self, model: str) -> bool:
        return self.rollups and self.wh.has_model(model)

    def _mark(self) -> int:
        """The daily roll-up's watermark (ms; 0 = none, read everything raw): its version."""
        if not self._has(DAILY):
            return 0
        return int(self.wh.query("SELECT max(watermark_ms) AS w FROM {{ ref('overview_daily') }}"
                                 )[0]["w"] or 0)

    def _tail(self, first: dt.date, last: dt.date, mark: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Parameters and variables of ``{{ tail }}``: the model over events of the days
        [first, last] received at or after ``mark``."""
        params = {"tail_lo": ms(day_start(first)),
                  "tail_hi": ms(day_start(last) + dt.timedelta(days=1)),
                  "tail_mark": mark, "rf": first, "rl": last}
        return params, {"tail": Markup(self.wh.model_sql(DAILY, variables(tail=True)))}

    def _merged(self, key: str, windows: list[str], first: dt.date, last: dt.date, extra: str,
                params: dict[str, Any], _retried: bool = False) -> dict[Any, list[dict[str, float]]]:
        """Every metric per group ``key`` (an SQL expression over the rows) and per window
        (SQL conditions on ``day``), over the days [first, last]: the cached rolled-up part
        plus what the tail adds (see the module's docstring)."""
        cond = " AND magnet_id != ''" if key == "magnet_id" else ""
        mark = self._mark()
        tp, tv = self._tail(first, last, mark)
        p = {**params, **tp}
        tail_rows = f"SELECT {DIMS}, {COLUMNS}, watermark_ms FROM ({{{{ tail }}}}) AS t"
        if not mark:  # no roll-up: the same states over every raw event, merged in SQL
            merges = ", ".join(M.merge_list(w, f"__{i}") for i, w in enumerate(windows))
            got = self.wh.query(f"SELECT {key} AS key, {merges} FROM ({tail_rows}) AS u "
                                f"WHERE 1{extra}{cond} GROUP BY key", p, tv)
            return {r["key"]: [{m.name: r[f"{m.name}__{i}"] for m in M.EVENT_METRICS}
                               for i in range(len(windows))] for r in got}
        states = ", ".join(
            (f"arraySort(groupUniqArrayArrayIf({m.name}, {w}))" if m.name in DISTINCT else f"sumIf({m.name}, {w})")
            + f" AS {m.name}__{i}" for i, w in enumerate(windows) for m in M.EVENT_METRICS)

        def sets(rows: str, arrow: bool, tail_mark: int) -> dict[Any, list[dict[str, Any]]]:
            sql = (f"SELECT {key} AS key, {states}, max(watermark_ms) AS __mark FROM ({rows}) AS u "
                   f"WHERE 1{extra}{cond} GROUP BY key")
            q = {**p, "tail_mark": tail_mark}
            got = self.wh.query_columns(sql, q, tv) if arrow else self.wh.query(sql, q, tv)
            if arrow and any(r["__mark"] != mark for r in got):
                raise RollupMoved(mark)  # a run published between reading its mark and its rows
            return {r["key"]: [{m.name: r[f"{m.name}__{i}"] for m in M.EVENT_METRICS}
                               for i in range(len(windows))] for r in got}

        def compute() -> dict[Any, list[dict[str, Any]]]:
            return _sorted_sets(sets(f"SELECT {DIMS}, {COLUMNS}, watermark_ms "
                                     "FROM {{ ref('overview_daily') }} "
                                     "WHERE day >= {rf:Date} AND day <= {rl:Date}", True, mark))

        query = (self.wh.org_id, DAILY, key, tuple(windows), first, last, extra, _freeze(params))
        rolled: dict[Any, list[dict[str, Any]]] | None = self.cache.peek(query, mark)
        since = mark
        if rolled is None:
            older = self.cache.latest(query) if self.background else None
            if older is not None and isinstance(older[0], int) and older[0] < mark:
                # A run since: answer from the previous version's sets plus every event
                # received after *its* watermark (just as exact), compute the new one aside.
                since, rolled = older[0], older[1]
                self.cache.refresh(query, mark, compute)
            else:
                try:
                    rolled = self.cache.get(query, mark, compute)
                except RollupMoved:
                    if _retried:
                        raise
                    return self._merged(key, windows, first, last, extra, params, _retried=True)
        assert rolled is not None
        tail = sets(tail_rows, False, since)  # small: what arrived since that watermark
        empty = np.empty(0, dtype=np.uint64)
        out: dict[Any, list[dict[str, float]]] = {}
        for k in {**rolled, **tail}:
            out[k] = []
            for i in range(len(windows)):
                r = rolled[k][i] if k in rolled else {}
                t = tail[k][i] if k in tail else {}
                row: dict[str, float] = {}
                for m in M.EVENT_METRICS:
                    if m.name in DISTINCT:
                        have = r.get(m.name, empty)
                        row[m.name] = int(have.size) + _not_in(t.get(m.name) or [], have)
                    else:
                        row[m.name] = (r.get(m.name) or 0) + (t.get(m.name) or 0)
                out[k].append(row)
        return out

    def windows(self, spans: dict[str, tuple[dt.date, dt.date]], extra: str,
                params: dict[str, Any]) -> dict[str, dict[str, float]]:
        """Every metric for every span of whole days [first, last]."""
        lo = min(a for a, _ in spans.values())
        hi = max(b for _, b in spans.values())
        p = dict(params)
        conds = []
        for i, (a, b) in enumerate(spans.values()):
            p[f"wa{i}"], p[f"wb{i}"] = a, b
            conds.append(f"day >= {{wa{i}:Date}} AND day <= {{wb{i}:Date}}")
        got = self._merged("0", conds, lo, hi, extra, p)
        ws: list[dict[str, float]] = next(iter(got.values()), [{} for _ in spans])
        return {name: M.finish(ws[i]) for i, name in enumerate(spans)}

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
        """Metrics per ``key`` (magnet_id, country or day) over the days [first, last]:
        by visitors (most first), or by day."""
        got = self._merged(key, ["1"], first, last, extra, params)
        rows = [{"key": k, **ws[0]} for k, ws in got.items()]
        rows.sort(key=(lambda r: r["key"]) if key == "day" else (lambda r: (-r["visitors"], r["key"])))
        return rows[:limit]

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

        def run() -> list[dict[str, Any]]:
            return self.wh.query(
                f"SELECT {key} AS key, {M.merge_list()} FROM {rows_from} AS r "
                "WHERE day >= {start:Date} AND day < {end:Date}" + extra +
                " GROUP BY key ORDER BY visitors DESC, key LIMIT {n:UInt32}", p, v)

        if source != model:  # computed from events or sessions: nothing to reuse
            return source, run()
        version = self.wh.model_version(model)  # no tail: the roll-up's answer is the answer
        rows: list[dict[str, Any]] = self.cache.get(
            (self.wh.org_id, model, key, extra, _freeze(p)), version, run)
        return source, rows
