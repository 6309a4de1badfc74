"""Moves sealed spool segments into the warehouse, idempotently, retrying while it is down.

The shipper takes every sealed segment of a slot (up to ``max_batch_bytes``) as one batch,
so the lake gets one file per round rather than one per segment. Before inserting, it
writes an *intent* file ``<token>.batch`` naming the batch's segments. The insert is keyed
on that token: the lake names the Parquet file after it and ClickHouse deduplicates on
``insert_deduplication_token``. After the insert the segments and then the intent are
deleted. A crash anywhere in between leaves the intent, and the next round replays the same
segments under the same token, which adds nothing that is already there. Errors back off
exponentially (with jitter) and the segments stay on disk until an insert succeeds.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.trace import Span

from ingestion.frames import read_table
from kernel.tracing import tracer
from kernel.warehouse import Warehouse, WarehouseError

log = logging.getLogger(__name__)

QUARANTINE = "quarantine"


@dataclass
class ShipStats:
    segments: int = 0
    events: int = 0
    batches: int = 0
    failures: int = 0
    quarantined: int = 0
    last_error: str = ""
    lag_seconds: float = 0.0
    last_batch_rows: int = 0


@contextmanager
def ship_lock(root: Path, slot: Path, blocking: bool = True) -> Iterator[bool]:
    """``slot-K.ship``, held while a slot's segments are read, inserted and deleted; an
    erasure holds it to rewrite a live slot's sealed segments (privacy/stores/spool.py), so
    a batch never ships a copy read before the rewrite. Yields False when ``blocking`` is
    off and someone else holds it."""
    with open(root / f"{slot.name}.ship", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_intent(path: Path, token: str, names: list[str]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"token": token, "segments": names}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Shipper:
    """Ships the segments of its own slot and of slots no live worker holds."""

    def __init__(
        self,
        spool_root: Path,
        warehouse_factory: Callable[[], Warehouse],
        *,
        own_slot_dir: Path | None = None,
        max_backoff: float = 10.0,
        max_batch_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.root = spool_root
        self.own = own_slot_dir
        self.factory = warehouse_factory
        self._warehouse: Warehouse | None = None
        self.stats = ShipStats()
        self.max_backoff = max_backoff
        self.max_batch_bytes = max_batch_bytes
        self._backoff = 0.0
        self._next_try = 0.0

    def _warehouse_or_connect(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = self.factory()
        return self._warehouse

    def warm_up(self) -> None:
        """Open the warehouse and exercise the Arrow/Parquet path once, writing nothing."""
        import io

        import pyarrow.parquet as pq

        from kernel.events import make_row, rows_to_arrow

        self._warehouse_or_connect()
        pq.write_table(rows_to_arrow([make_row(org_id="warm-up")]), io.BytesIO())

    # -- one slot ------------------------------------------------------------------------------
    def _ship_batch(self, slot: Path, intent: Path, token: str, names: list[str]) -> int:
        # A no-op span unless tracing is on (kernel/tracing.py); one per batch, not per event.
        with tracer().start_as_current_span("shipper.batch") as span:
            span.set_attribute("spool.slot", slot.name)
            span.set_attribute("spool.segments", len(names))
            return self._ship_traced(slot, intent, token, names, span)

    def _ship_traced(self, slot: Path, intent: Path, token: str, names: list[str],
                     span: Span) -> int:
        paths = [slot / n for n in names]
        table = read_table(paths)
        span.set_attribute("events", table.num_rows)
        if table.num_rows:
            try:
                wh = self._warehouse_or_connect()
                with tracer().start_as_current_span("warehouse.insert_events") as insert:
                    insert.set_attribute("db.system", f"clickhouse ({wh.kind})")
                    insert.set_attribute("events", table.num_rows)
                    wh.insert_events(table, token)
            except WarehouseError as exc:
                if exc.transient:
                    raise
                self._quarantine(slot, intent, paths, exc)
                span.set_attribute("quarantined", True)
                return 0
        for p in paths:
            p.unlink(missing_ok=True)
        intent.unlink(missing_ok=True)
        self.stats.segments += len(paths)
        self.stats.events += table.num_rows
        self.stats.batches += 1
        self.stats.last_batch_rows = table.num_rows
        return table.num_rows

    def _quarantine(self, slot: Path, intent: Path, paths: list[Path], exc: Exception) -> None:
        """A terminal refusal: keep the data aside for an operator instead of retrying forever."""
        target = self.root / QUARANTINE
        target.mkdir(exist_ok=True)
        for p in [*paths, intent]:
            if p.exists():
                os.replace(p, target / f"{slot.name}-{p.name}")
        self.stats.quarantined += len(paths)
        log.error("shipper: warehouse refused %s for good (%s); moved to %s", intent.stem, exc, target)

    def ship_slot(self, slot: Path) -> int:
        """Replay unfinished batches of ``slot``, then ship its sealed segments in batches
        (holding the slot's :func:`ship_lock`)."""
        with ship_lock(self.root, slot):
            return self._ship_slot(slot)

    def _ship_slot(self, slot: Path) -> int:
        shipped = 0
        for intent in sorted(slot.glob("*.batch")):
            spec = json.loads(intent.read_text(encoding="utf-8"))
            shipped += self._ship_batch(slot, intent, spec["token"], spec["segments"])
        batch: list[Path] = []
        size = 0
        sealed = sorted(slot.glob("*.sealed"))
        for i, path in enumerate(sealed):
            batch.append(path)
            size += path.stat().st_size
            if size >= self.max_batch_bytes or i == len(sealed) - 1:
                token = f"{slot.name}-{batch[0].stem}-{len(batch)}"
                intent = slot / f"{token}.batch"
                names = [p.name for p in batch]
                _write_intent(intent, token, names)
                shipped += self._ship_batch(slot, intent, token, names)
                batch, size = [], 0
        return shipped

    def _orphans(self) -> list[Path]:
        return [self.root / p.stem for p in sorted(self.root.glob("slot-*.lock"))
                if (self.root / p.stem) != self.own and (self.root / p.stem).is_dir()]

    def _ship_orphan(self, slot: Path) -> int:
        """Ship a slot no live worker holds, holding its lock so nobody else ships it too."""
        with open(self.root / f"{slot.name}.lock", "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # a live worker owns it, or another worker is shipping it
            try:
                for p in slot.glob("*.open"):  # left by a dead worker: seal it
                    os.replace(p, p.with_suffix(".sealed"))
                return self.ship_slot(slot)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- rounds --------------------------------------------------------------------------------
    def ship_once(self) -> int:
        """Ship everything sealed now; returns the events shipped (0 while backing off)."""
        now = time.monotonic()
        if now < self._next_try:
            return 0
        shipped = 0
        try:
            if self.own is not None:
                shipped += self.ship_slot(self.own)
            for slot in self._orphans():
                shipped += self._ship_orphan(slot)
        except Exception as exc:  # warehouse down or refusing: back off, keep the segments
            self.stats.failures += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"[:500]
            self._backoff = min(self.max_backoff, max(0.2, self._backoff * 2))
            self._next_try = now + self._backoff * (0.5 + random.random() / 2)
            log.warning("shipper: %s; retrying in %.1fs", self.stats.last_error,
                        self._next_try - now)
            if self._warehouse is not None:
                self._warehouse.close()
                self._warehouse = None
            self._update_lag()
            return shipped
        self._backoff = 0.0
        self.stats.last_error = ""
        self._update_lag()
        return shipped

    def _update_lag(self) -> None:
        oldest = min((int(p.stem) for p in self.root.glob("slot-*/*.sealed")
                      if p.stem.isdigit()), default=0)
        self.stats.lag_seconds = max(0.0, time.time() - oldest / 1e9) if oldest else 0.0

    @property
    def failing(self) -> bool:
        return bool(self.stats.last_error)

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None
