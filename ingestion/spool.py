"""Durable, append-only spool with group commit: a request is acknowledged only after fsync.

Layout: ``spool/slot-K/`` per worker slot (a worker holds ``slot-K.lock`` with flock for its
lifetime). A slot holds ``<ns>.open`` (the segment being written) and ``<ns>.sealed``
segments waiting for the shipper. A segment is a series of frames (see
:mod:`ingestion.frames`), one per group commit: the blocks of every request that arrived
while the previous fsync ran. A torn tail (crash mid-write) fails its CRC and is dropped: it
was never acknowledged, because acknowledgements follow the fsync.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import pyarrow as pa

from ingestion.columns import Block
from ingestion.frames import encode_frame
from kernel.durable import fsync_dir

log = logging.getLogger(__name__)
class SpoolFull(Exception):
    """The spool's disk quota is used up; the caller answers 503 with Retry-After."""


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
    """One writer per process. ``await append(block)`` returns once the block is on disk."""

    def __init__(
        self,
        root: Path,
        *,
        commit_ms: float = 0.0,
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
        self._buffer: list[Block] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._used_bytes = spool_usage(root)[1]
        self._usage_checked = time.monotonic()
        # One thread: commits stay in order and never queue behind the shipper's work.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"spool-{self.slot}")
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
        fsync_dir(self.dir)  # the segment's name survives a power cut, not just a crash
        self._opened_at = time.monotonic()
        self._size = 0

    def seal(self) -> Path | None:
        """Close the open segment and hand it to the shipper."""
        if self._fh is None or self._path is None:
            return None
        self._fh.close()
        sealed: Path | None = self._path.with_suffix(".sealed")
        if self._size:
            os.replace(self._path, sealed)  # type: ignore[arg-type]
        else:
            self._path.unlink(missing_ok=True)
            sealed = None
        self._fh = self._path = None
        return sealed

    def seal_if_due(self) -> None:
        """Seal the open segment once it is ``seal_ms`` old (called by the ship loop)."""
        if self._task is not None and not self._task.done():
            return  # a group commit may be writing in the executor thread right now
        if self._fh is not None and self._size and not self._buffer:
            if time.monotonic() - self._opened_at >= self.seal_s:
                self.seal()

    # -- writes --------------------------------------------------------------------------------
    @property
    def used_bytes(self) -> int:
        return self._used_bytes

    def _measure(self) -> None:
        """Re-read the spool's size from disk at most twice a second (others ship, too)."""
        now = time.monotonic()
        if now - self._usage_checked > 0.5:
            self._used_bytes = spool_usage(self.root)[1]
            self._usage_checked = now

    def near_full(self, headroom: int = 64 * 1024) -> bool:
        """Whether requests are about to be refused (the same accounting as the 503s)."""
        self._measure()
        return self._used_bytes + headroom >= self.quota_bytes

    def check_quota(self, incoming: int = 0) -> None:
        """Raise :class:`SpoolFull` when ``incoming`` more bytes would exceed the quota."""
        self._measure()
        if self._used_bytes + incoming > self.quota_bytes:
            raise SpoolFull(f"spool holds {self._used_bytes} bytes (quota {self.quota_bytes})")

    def submit(self, block: Block) -> asyncio.Future[None]:
        """Queue ``block`` for the next group commit; the future resolves once it is fsync'd.

        Raises :class:`SpoolFull` at once when the quota is used up.
        """
        if self._closed:
            raise RuntimeError("spool is closed")
        size = block.size_hint()
        self.check_quota(size)
        self._used_bytes += size
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buffer.append(block)
        self._waiters.append(fut)
        if self._task is None:
            self._task = asyncio.create_task(self._commit_loop())
        return fut

    async def append(self, block: Block) -> None:
        """Queue ``block`` for the next group commit and wait until it is fsync'd."""
        await self.submit(block)

    @staticmethod
    def _encode(blocks: list[Block]) -> tuple[bytes, list[int]]:
        """The frame for ``blocks``; a block Arrow refuses fails alone (index returned)."""
        try:
            return encode_frame(blocks), []
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            if len(blocks) == 1:
                return b"", [0]
        good, bad = [], []
        for i, b in enumerate(blocks):
            try:
                encode_frame([b])
            except (pa.ArrowException, ValueError, TypeError, OverflowError):
                log.exception("spool: a request's events cannot be encoded; refusing it")
                bad.append(i)
            else:
                good.append(b)
        return (encode_frame(good) if good else b""), bad

    def _write_and_sync(self, blocks: list[Block]) -> list[int]:
        """Write one frame and fsync; returns the indices of blocks that could not be encoded."""
        data, bad = self._encode(blocks)
        if data:
            self._write_frame(data)
        return bad

    def _write_frame(self, data: bytes) -> None:
        """Append an encoded frame and fsync it (the writer thread; no GIL during syscalls)."""
        if self._fh is None:
            self._open_segment()
        assert self._fh is not None
        try:
            self._fh.write(data)
            os.fsync(self._fh.fileno())
        except OSError:
            # Never leave a partial frame in front of later acknowledged ones: cut it off
            # (or give up on this segment) so readers do not stop early.
            try:
                os.ftruncate(self._fh.fileno(), self._size)
            finally:
                self.seal()
            raise
        self._size += len(data)
        if self._size >= self.segment_bytes:
            self.seal()

    async def _commit_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            # Requests that are already runnable (the server hands them over in bursts) join
            # the first group; after that, whatever arrives during an fsync forms the next.
            await asyncio.sleep(self.commit_s)
            while self._buffer:
                blocks, waiters = self._buffer, self._waiters
                self._buffer, self._waiters = [], []
                try:
                    # Encode here, on the loop's thread, which holds the GIL anyway: in the
                    # writer thread every GIL hand-back would wait for this busy thread to
                    # reach a switch point. Only the write and the fsync leave the loop.
                    data, bad = self._encode(blocks)
                    if data:
                        await loop.run_in_executor(self._writer, self._write_frame, data)
                except Exception as exc:  # disk error: nobody in this group is acknowledged
                    log.exception("spool commit failed")
                    for w in waiters:
                        if not w.done():
                            w.set_exception(exc)
                    continue
                self.commits += 1
                for i, w in enumerate(waiters):
                    if not w.done():
                        if bad and i in bad:
                            w.set_exception(ValueError("events could not be encoded"))
                        else:
                            w.set_result(None)
                # Whatever arrived during the fsync has waited long enough: commit it now.
        finally:
            self._task = None

    async def drain(self) -> None:
        """Wait for pending commits, then seal the open segment."""
        while self._task is not None:
            await asyncio.shield(self._task)
        self.seal()

    def close(self) -> None:
        self._closed = True
        self.seal()
        self._writer.shutdown(wait=True)
        self._lock.close()
