"""The collector's spool: events acknowledged but not shipped to the warehouse yet.

A slot no live collector holds (its ``slot-K.lock`` is free) is locked by the erasure, and
each segment holding the person's events is rewritten without them (temporary file +
rename, same name, so a shipper's pending batch intent still finds it). A slot a running
collector owns is shipped within a second or two: the erasure waits until the segments that
held the person have left the spool (they are then in the warehouse, whose step runs next).
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
    """Remove the person's events from every slot; returns the events removed here."""
    if not root.is_dir() or not (subject.visitor_ids or subject.needles):
        return 0
    removed = 0
    waiting: list[Path] = []  # segment paths without suffix (.open becomes .sealed)
    for slot in sorted(p for p in root.glob("slot-*") if p.is_dir()):
        with open(root / f"{slot.name}.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live collector: its shipper empties it shortly
                waiting += [s.with_suffix("") for s in _segments_of(slot) if _holds(s, subject)]
                continue
            try:
                for seg in _segments_of(slot):
                    table = read_table([seg])
                    if not table.num_rows:
                        continue
                    mask = _mask(table, subject)
                    hits = pc.sum(mask).as_py() or 0
                    if hits:
                        _write_segment(seg, table.filter(pc.invert(mask)))
                        removed += hits
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    deadline = time.monotonic() + wait_s
    while any(p.with_suffix(x).exists() for p in waiting for x in (".open", ".sealed")):
        if time.monotonic() > deadline:
            raise WarehouseError("the collector has not shipped the spooled events of this "
                                 f"person within {wait_s:.0f} s; the erasure resumes",
                                 transient=True)
        time.sleep(0.2)
    return removed


def _segments_of(slot: Path) -> list[Path]:
    return sorted(p for pattern in SEGMENTS for p in slot.glob(pattern))


def _holds(seg: Path, subject: Subject) -> bool:
    try:
        table = read_table([seg])
    except FileNotFoundError:
        return False
    return bool(table.num_rows and pc.sum(_mask(table, subject)).as_py())
