"""Moves sealed spool segments into the warehouse, idempotently, retrying while it is down.

The insert token is the segment's slot and name, so replaying a segment after a crash (the
insert landed but the segment was not yet deleted) adds nothing: the lake names the Parquet
file after the token, and ClickHouse deduplicates on ``insert_deduplication_token``.
"""

from __future__ import annotations

import fcntl
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.spool import read_frames
from kernel.events import rows_to_arrow
from kernel.warehouse import Warehouse

log = logging.getLogger(__name__)


@dataclass
class ShipStats:
    segments: int = 0
    events: int = 0
    failures: int = 0
    last_error: str = ""
    lag_seconds: float = 0.0
    delays: list[float] = field(default_factory=list)


def segment_token(path: Path) -> str:
    return f"{path.parent.name}-{path.stem}"


def ship_segment(path: Path, warehouse: Warehouse) -> int:
    """Insert one sealed segment and delete it. Returns the number of events shipped."""
    rows = [row for frame in read_frames(path) for row in frame]
    if rows:
        warehouse.insert_events(rows_to_arrow(rows), segment_token(path))
    path.unlink()
    return len(rows)


class Shipper:
    """Ships the segments of its own slot and of slots no live worker holds."""

    def __init__(
        self,
        spool_root: Path,
        warehouse_factory: Callable[[], Warehouse],
        *,
        own_slot_dir: Path | None = None,
        max_backoff: float = 10.0,
    ) -> None:
        self.root = spool_root
        self.own = own_slot_dir
        self.factory = warehouse_factory
        self._warehouse: Warehouse | None = None
        self.stats = ShipStats()
        self.max_backoff = max_backoff
        self._backoff = 0.0
        self._next_try = 0.0

    def _warehouse_or_connect(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = self.factory()
        return self._warehouse

    def _slot_dirs(self) -> list[Path]:
        """Own slot first, then orphaned slots whose lock we can take right now."""
        dirs = [self.own] if self.own else []
        for lock_path in sorted(self.root.glob("slot-*.lock")):
            d = self.root / lock_path.stem
            if d == self.own or not d.is_dir():
                continue
            with open(lock_path, "a") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                for p in d.glob("*.open"):  # left by a dead worker: seal it
                    p.rename(p.with_suffix(".sealed"))
                fcntl.flock(fh, fcntl.LOCK_UN)
            dirs.append(d)
        return dirs

    def warm_up(self) -> None:
        """Open the warehouse and exercise the Arrow/Parquet path once, writing nothing."""
        import io

        import pyarrow.parquet as pq

        from kernel.events import make_row

        self._warehouse_or_connect()
        pq.write_table(rows_to_arrow([make_row(org_id="warm-up")]), io.BytesIO())

    def ship_once(self) -> int:
        """Ship every sealed segment now; returns the events shipped (0 while backing off)."""
        now = time.monotonic()
        if now < self._next_try:
            return 0
        shipped = 0
        oldest = 0.0
        try:
            for d in self._slot_dirs():
                for path in sorted(d.glob("*.sealed")):
                    created = int(path.stem) / 1e9
                    oldest = max(oldest, time.time() - created)
                    n = ship_segment(path, self._warehouse_or_connect())
                    shipped += n
                    self.stats.segments += 1
                    self.stats.events += n
        except FileNotFoundError:
            pass  # another worker shipped an orphan first
        except Exception as exc:  # warehouse down or refusing: back off, keep the segment
            self.stats.failures += 1
            self.stats.last_error = str(exc)[:500]
            self._backoff = min(self.max_backoff, max(0.2, self._backoff * 2))
            self._next_try = now + self._backoff * (0.5 + random.random() / 2)
            log.warning("shipper: %s; retrying in %.1fs", exc, self._next_try - now)
            if self._warehouse is not None:
                self._warehouse.close()
                self._warehouse = None
            return shipped
        self._backoff = 0.0
        self.stats.lag_seconds = oldest
        return shipped

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None
