"""Durable, append-only spool with group commit: a request is acknowledged only after fsync.

Layout: ``spool/slot-K/`` per worker slot (a worker holds ``slot-K.lock`` with flock for its
lifetime). A slot holds ``<ns>.open`` (the segment being written) and ``<ns>.sealed``
segments waiting for the shipper. A segment is a series of frames
``[u32 length][u32 crc32][msgpack list of rows]``; a torn tail (crash mid-write) fails the CRC
and is dropped — it was never acknowledged, because acknowledgements follow the fsync.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import msgspec

from kernel.events import Row

log = logging.getLogger(__name__)

HEADER = struct.Struct("<II")
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(list[tuple[Any, ...]])


class SpoolFull(Exception):
    """The spool's disk quota is used up; the caller answers 503 with Retry-After."""


def encode_frame(rows: list[Row]) -> bytes:
    payload = _encoder.encode(rows)
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_frames(path: Path) -> Iterator[list[Row]]:
    """Yield every intact frame of a segment; stop at the first torn or corrupt frame."""
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 0
    while pos + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, pos)
        start, end = pos + HEADER.size, pos + HEADER.size + length
        if end > len(data) or zlib.crc32(data[start:end]) != crc:
            log.warning("spool segment %s: torn frame at byte %d dropped", path.name, pos)
            return
        yield [tuple(r) for r in _decoder.decode(data[start:end])]
        pos = end


def acquire_slot(root: Path, max_slots: int = 64) -> tuple[int, IO[str]]:
    """Lock the lowest free slot; the returned file keeps the lock while it is open."""
    root.mkdir(parents=True, exist_ok=True)
    for k in range(max_slots):
        fh = open(root / f"slot-{k}.lock", "a")  # noqa: SIM115 - held for the process lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            continue
        return k, fh
    raise RuntimeError(f"all {max_slots} spool slots in {root} are locked")


def spool_usage(root: Path) -> tuple[int, int]:
    """(segments, bytes) waiting in every slot of the spool."""
    count = size = 0
    for p in root.glob("slot-*/*"):
        if p.suffix in (".open", ".sealed"):
            try:
                size += p.stat().st_size
            except FileNotFoundError:
                continue
            count += 1
    return count, size


class Spool:
    """One writer per process. ``await append(rows)`` returns once the rows are on disk."""

    def __init__(
        self,
        root: Path,
        *,
        commit_ms: float = 2.0,
        segment_bytes: int = 4 * 1024 * 1024,
        seal_ms: float = 250.0,
        quota_bytes: int = 2 * 1024**3,
    ) -> None:
        self.root = root
        self.commit_s = commit_ms / 1000.0
        self.segment_bytes = segment_bytes
        self.seal_s = seal_ms / 1000.0
        self.quota_bytes = quota_bytes
        self.slot, self._lock = acquire_slot(root)
        self.dir = root / f"slot-{self.slot}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._recover()
        self._fh: IO[bytes] | None = None
        self._path: Path | None = None
        self._opened_at = 0.0
        self._size = 0
        self._buffer: list[bytes] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._used_bytes = spool_usage(root)[1]
        self._usage_checked = time.monotonic()
        self.commits = 0

    # -- recovery and segments -----------------------------------------------------------------
    def _recover(self) -> None:
        """Seal segments a crashed owner of this slot left open (their tail may be torn)."""
        for path in sorted(self.dir.glob("*.open")):
            if path.stat().st_size == 0:
                path.unlink()
                continue
            os.replace(path, path.with_suffix(".sealed"))
            log.info("spool: recovered %s", path.name)

    def _open_segment(self) -> None:
        self._path = self.dir / f"{time.time_ns()}.open"
        self._fh = open(self._path, "ab", buffering=0)  # noqa: SIM115
        self._opened_at = time.monotonic()
        self._size = 0

    def seal(self) -> Path | None:
        """Close the open segment and hand it to the shipper."""
        if self._fh is None or self._path is None:
            return None
        self._fh.close()
        sealed = self._path.with_suffix(".sealed")
        if self._size:
            os.replace(self._path, sealed)
        else:
            self._path.unlink(missing_ok=True)
            sealed = None  # type: ignore[assignment]
        self._fh = self._path = None
        return sealed

    def seal_if_due(self) -> None:
        if self._task is not None and not self._task.done():
            return  # a group commit may be writing in the executor thread right now
        if self._fh is not None and self._size and not self._buffer:
            if time.monotonic() - self._opened_at >= self.seal_s:
                self.seal()

    # -- writes --------------------------------------------------------------------------------
    def check_quota(self, incoming: int = 0) -> None:
        now = time.monotonic()
        if now - self._usage_checked > 0.5:
            self._used_bytes = spool_usage(self.root)[1]
            self._usage_checked = now
        if self._used_bytes + incoming > self.quota_bytes:
            raise SpoolFull(f"spool holds {self._used_bytes} bytes (quota {self.quota_bytes})")

    async def append(self, rows: list[Row]) -> None:
        """Queue ``rows`` for the next group commit and wait until they are fsync'd."""
        if self._closed:
            raise RuntimeError("spool is closed")
        frame = encode_frame(rows)
        self.check_quota(len(frame))
        self._used_bytes += len(frame)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buffer.append(frame)
        self._waiters.append(fut)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._commit_loop())
        await fut

    def _write_and_sync(self, data: bytes) -> None:
        if self._fh is None:
            self._open_segment()
        assert self._fh is not None
        self._fh.write(data)
        os.fsync(self._fh.fileno())
        self._size += len(data)
        if self._size >= self.segment_bytes:
            self.seal()

    async def _commit_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._buffer:
            await asyncio.sleep(self.commit_s)
            data, waiters = b"".join(self._buffer), self._waiters
            self._buffer, self._waiters = [], []
            try:
                await loop.run_in_executor(None, self._write_and_sync, data)
            except Exception as exc:  # disk error: nobody is acknowledged
                for w in waiters:
                    if not w.done():
                        w.set_exception(exc)
                continue
            self.commits += 1
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    def sync_append(self, rows: list[Row]) -> None:
        """Blocking append for tools (simulator, tests) outside an event loop."""
        self.check_quota()
        self._write_and_sync(encode_frame(rows))

    async def drain(self) -> None:
        """Wait for pending commits, then seal the open segment."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        self.seal()

    def close(self) -> None:
        self._closed = True
        self.seal()
        self._lock.close()

    def sealed_segments(self) -> list[Path]:
        return sorted(self.dir.glob("*.sealed"))
