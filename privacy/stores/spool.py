"""The collector's spool: events acknowledged but not shipped to the warehouse yet.

A slot no live collector holds (its ``slot-K.lock`` is free) is locked by the erasure, and
each segment holding the person's events is rewritten without them (temporary file +
rename, same name, so a shipper's pending batch intent still finds it). A slot a running
collector owns is rewritten the same way while its shipper is kept out (``slot-K.ship``,
``ingestion.shipper.ship_lock``): its open segment first waits for the collector to seal
it. So the person's acknowledged events never reach the warehouse, even when shipping was
paused or failing while the erasure ran; anyone else's are all shipped afterwards.
"""

from __future__ import annotations

import fcntl
import os
import time
import zlib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.frames import HEADER, read_table
from ingestion.shipper import ship_lock
from kernel.durable import fsync_dir
from kernel.warehouse.base import WarehouseError
from privacy.stores.warehouse import TEXT_COLUMNS
from privacy.subject import Subject

SEGMENTS = ("*.sealed", "*.open")


def _mask(table: pa.Table, subject: Subject) -> pa.ChunkedArray | pa.Array:
    mask = pc.is_in(table["visitor_id"], value_set=pa.array(list(subject.visitor_ids),
                                                            pa.string()))
    for col in TEXT_COLUMNS:
        lowered = pc.utf8_lower(table[col])
        for needle in subject.needles:
            mask = pc.or_(mask, pc.match_substring(lowered, needle.lower()))
    return mask


def _segments(root: Path) -> list[Path]:
    return sorted(p for pattern in SEGMENTS for p in root.glob(f"slot-*/{pattern}"))


def find(root: Path, subject: Subject) -> list[dict[str, Any]]:
    """The person's events waiting in the spool."""
    out: list[dict[str, Any]] = []
    for seg in _segments(root):
        try:
            table = read_table([seg])
        except FileNotFoundError:  # shipped meanwhile: the warehouse has it
            continue
        if table.num_rows:
            hit = table.filter(_mask(table, subject))
            out += [{k: (str(v) if k == "event_id" else v.isoformat() if hasattr(v, "isoformat")
                         else v) for k, v in row.items()} for row in hit.to_pylist()]
    return out


def _write_segment(path: Path, table: pa.Table) -> None:
    """Replace ``path`` by one Arrow frame of ``table`` (empty file for no rows), atomically."""
    data = b""
    if table.num_rows:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table.combine_chunks())
        payload = sink.getvalue().to_pybytes()
        data = HEADER.pack(len(payload), zlib.crc32(payload)) + payload
    tmp = path.with_name(f".tmp-erase-{path.name}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def erase(root: Path, subject: Subject, wait_s: float = 30.0) -> int:
    """Remove the person's events from every slot; returns the events removed."""
    if not root.is_dir() or not (subject.visitor_ids or subject.needles):
        return 0
    removed = 0
    live: list[Path] = []
    for slot in sorted(p for p in root.glob("slot-*") if p.is_dir()):
        with open(root / f"{slot.name}.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live collector owns it
                live.append(slot)
                continue
            try:
                for seg in _segments_of(slot):
                    removed += _rewrite(seg, subject)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    deadline = time.monotonic() + wait_s
    for slot in live:
        removed += _erase_live(root, slot, subject, deadline)
    return removed


def _rewrite(seg: Path, subject: Subject) -> int:
    """Rewrite ``seg`` without the person's events; how many it held."""
    table = read_table([seg])
    if not table.num_rows:
        return 0
    mask = _mask(table, subject)
    hits = int(pc.sum(mask).as_py() or 0)
    if hits:
        _write_segment(seg, table.filter(pc.invert(mask)))
    return hits


def _erase_live(root: Path, slot: Path, subject: Subject, deadline: float) -> int:
    """A running collector's slot, whether or not it can ship now (warehouse down, paused):
    its sealed segments are rewritten while its shipper is kept out (the slot's ship lock),
    so what it ships afterwards holds nothing of the person; a segment still being written
    (``.open``) is sealed by the collector within ``LODESTONE_SPOOL_SEAL_MS``, then rewritten.

    Raises:
        WarehouseError (transient): the ship lock or the seal did not come before the
            deadline (the erasure resumes later).
    """
    removed = 0
    while True:
        waiting = False
        with ship_lock(root, slot, blocking=False) as held:
            if held:
                for seg in _segments_of(slot):
                    try:
                        if seg.suffix == ".sealed":
                            removed += _rewrite(seg, subject)
                        elif _holds(seg, subject):
                            waiting = True  # the writer appends to it: wait for its seal
                    except FileNotFoundError:  # sealed or shipped meanwhile: look again
                        waiting = True
            else:
                waiting = True
        if not waiting:
            return removed
        if time.monotonic() > deadline:
            raise WarehouseError("the collector did not let go of the spooled events of this "
                                 "person in time; the erasure resumes", transient=True)
        time.sleep(0.05)


def _segments_of(slot: Path) -> list[Path]:
    return sorted(p for pattern in SEGMENTS for p in slot.glob(pattern))


def _holds(seg: Path, subject: Subject) -> bool:
    try:
        table = read_table([seg])
    except FileNotFoundError:
        return False
    return bool(table.num_rows and pc.sum(_mask(table, subject)).as_py())
