"""Spool frames, crash recovery and the shipper's idempotent, retrying delivery (no server)."""

from __future__ import annotations

import asyncio
import json
import os
import struct
import uuid
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from ingestion.columns import rows_to_block
from ingestion.frames import ARROW_MIN_ROWS, read_frames, read_table
from ingestion.shipper import Shipper
from ingestion.spool import Spool, SpoolFull
from kernel.events import make_row
from kernel.warehouse import Warehouse
from kernel.warehouse.lake_backend import LakeWarehouse


def _rows(n: int, org: str = "o1") -> list[tuple[object, ...]]:
    return [make_row(org_id=org, url=f"https://a.example/{i}", ts=1_700_000_000_000 + i) for i in range(n)]


def _append(sp: Spool, rows: list[tuple[object, ...]]) -> None:
    """Append through the spool's real (async) path and wait for the group commit."""
    asyncio.run(sp.append(rows_to_block(rows)))  # type: ignore[arg-type]


def _sealed(sp: Spool) -> list[Path]:
    return sorted(sp.dir.glob("*.sealed"))


def _ids(rows: list[tuple[object, ...]]) -> set[bytes]:
    return {r[0] for r in rows}  # type: ignore[misc]


def _lake_ids(wh: LakeWarehouse) -> list[str]:
    return [str(r["e"]) for r in wh.query("SELECT event_id AS e FROM {{ source('events') }}")]


def test_group_commit_writes_both_frame_formats(tmp_path: Path) -> None:
    small, large = _rows(3), _rows(ARROW_MIN_ROWS + 5, org="o2")

    async def go() -> Spool:
        sp = Spool(tmp_path, commit_ms=1)
        await asyncio.gather(sp.append(rows_to_block(small)), sp.append(rows_to_block(large[:5])))
        await sp.append(rows_to_block(large[5:]))
        await sp.drain()
        return sp

    sp = asyncio.run(go())
    sp.close()
    segments = _sealed(sp)
    frames = [f for s in segments for f in read_frames(s)]
    assert any(isinstance(f, list) for f in frames) and any(not isinstance(f, list) for f in frames)
    table = read_table(segments)
    assert table.num_rows == len(small) + len(large)
    assert {bytes(u.bytes) for u in table.column("event_id").to_pylist()} == _ids(small + large)


def test_torn_tail_is_dropped_and_legacy_frames_read(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    _append(sp, _rows(2))
    legacy = msgspec.msgpack.encode(_rows(1, org="old"))  # a frame of the row format
    import zlib

    assert sp._fh is not None
    sp._fh.write(struct.pack("<II", len(legacy), zlib.crc32(legacy)) + legacy)
    sp._fh.write(b"\x10\x00\x00\x00garbage")  # a crash in the middle of a frame
    path = sp._path
    sp._lock.close()  # the process "dies": lock released, segment left .open
    sp2 = Spool(tmp_path)  # takes the same slot and seals what it finds
    assert path is not None and not path.exists()
    table = read_table(_sealed(sp2))
    assert sorted(table.column("org_id").to_pylist()) == ["o1", "o1", "old"]
    sp2.close()


def test_quota_refuses_before_writing(tmp_path: Path) -> None:
    sp = Spool(tmp_path, quota_bytes=1024 * 1024)
    _append(sp, _rows(60))
    sp.quota_bytes = 4096  # what is on disk now exceeds the quota
    sp._usage_checked = 0  # re-measure now
    with pytest.raises(SpoolFull):
        asyncio.run(sp.append(rows_to_block(_rows(20))))
    sp.close()


class Flaky:
    """A warehouse factory that fails while ``down`` is set (a warehouse outage)."""

    def __init__(self, root: Path) -> None:
        self.root, self.down, self.calls = root, True, 0

    def __call__(self) -> Warehouse:
        self.calls += 1
        if self.down:
            raise ConnectionError("warehouse unreachable")
        return LakeWarehouse(self.root)


def test_shipper_backs_off_while_down_then_delivers_once(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    rows = _rows(50)
    _append(sp, rows[:25])
    sp.seal()
    _append(sp, rows[25:])
    sp.seal()
    factory = Flaky(tmp_path / "lake")
    sh = Shipper(tmp_path / "spool", factory, own_slot_dir=sp.dir, max_backoff=0.2)
    for _ in range(5):
        assert sh.ship_once() == 0
        sh._next_try = 0
    assert sh.stats.failures == 5 and "unreachable" in sh.stats.last_error
    assert len(_sealed(sp)) == 2  # nothing lost while down
    factory.down = False
    sh._next_try = 0
    assert sh.ship_once() == 50 and sh.stats.batches == 1  # both segments, one lake file
    assert _sealed(sp) == [] and not list(sp.dir.glob("*.batch"))
    wh = LakeWarehouse(tmp_path / "lake")
    assert len(_lake_ids(wh)) == 50 and len(set(_lake_ids(wh))) == 50
    wh.close()
    sh.close()
    sp.close()


def test_a_crash_after_the_insert_replays_without_duplicates(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    _append(sp, _rows(10))
    sp.seal()
    lake = tmp_path / "lake"
    crash: Callable[[Path], None] = Path.unlink

    def dying_unlink(self: Path, missing_ok: bool = False) -> None:
        raise KeyboardInterrupt("killed between the insert and the deletion")

    sh = Shipper(tmp_path / "spool", lambda: LakeWarehouse(lake), own_slot_dir=sp.dir)
    Path.unlink = dying_unlink  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            sh.ship_once()
    finally:
        Path.unlink = crash  # type: ignore[method-assign]
    intents = list(sp.dir.glob("*.batch"))
    assert len(intents) == 1 and json.loads(intents[0].read_text())["segments"]
    _append(sp, _rows(3, org="later"))  # more data arrives before the restart
    sp.seal()
    sh2 = Shipper(tmp_path / "spool", lambda: LakeWarehouse(lake), own_slot_dir=sp.dir)
    assert sh2.ship_once() == 13  # the replay re-inserts 10 under the same token: no-op
    wh = LakeWarehouse(lake)
    ids = _lake_ids(wh)
    assert len(ids) == 13 and len(set(ids)) == 13
    wh.close()
    sp.close()


def test_orphaned_slots_are_shipped_by_a_live_worker(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    dead = Spool(root)
    _append(dead, _rows(4, org="dead"))  # left .open: its worker was killed
    dead._lock.close()
    live = Spool(root)
    assert live.slot == 0  # the free slot is reused...
    live.close()
    other = Spool(root)
    holder = Spool(root)  # ...and another slot exists whose owner is gone
    _append(holder, _rows(2, org="gone"))
    holder._lock.close()
    sh = Shipper(root, lambda: LakeWarehouse(tmp_path / "lake"), own_slot_dir=other.dir)
    assert sh.ship_once() == 6
    assert not [p for p in root.glob("slot-*/*") if p.suffix in (".open", ".sealed")]
    other.close()


def test_write_errors_never_leave_a_partial_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sp = Spool(tmp_path)
    _append(sp, _rows(2))
    real_fsync = os.fsync

    def failing(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(OSError):
        _append(sp, _rows(3, org="lost"))  # never acknowledged
    monkeypatch.setattr(os, "fsync", real_fsync)
    _append(sp, _rows(1, org="after"))
    sp.close()
    table = read_table(_sealed(sp))
    assert sorted(set(table.column("org_id").to_pylist())) == ["after", "o1"]
    assert uuid.UUID(int=0) not in table.column("event_id").to_pylist()


def test_pixel_row_blocks_read_back_as_the_same_events_in_both_frame_formats(tmp_path: Path) -> None:
    """A pixel's one-event row block, alone, in a group of rows, or mixed with a batch's
    columnar block, lands as exactly the event the query string described."""
    import time

    from ingestion.columns import RequestFacts, merge_blocks, to_record_batch
    from ingestion.pixel import parse_query, pixel_block

    now = int(time.time() * 1000)
    ctx = RequestFacts("org_px", "site_px", now, "Chrome", "Linux", "desktop", "DE", 0,
                       24 * 3600 * 1000, True, lambda: "c-cookieless")

    def pixel(i: int) -> object:
        qs = (f"event=pageview&url=https%3A%2F%2Fshop.example%2Fp{i}%3Futm_source%3Dnews%26utm_medium%3Demail"
              f"&visitor_id=v{i}&value={i}.5&ts={now - i}").encode()
        block = pixel_block(parse_query(qs), ctx)
        assert not isinstance(block, str) and block.row
        return block

    rows = [pixel(i) for i in range(300)]  # >= ARROW_MIN_ROWS: the Arrow frame format too
    batch = rows_to_block(_rows(4, org="o_batch"))
    expect = to_record_batch([b.columnar() for b in rows] + [batch]).to_pylist()  # type: ignore[attr-defined]
    assert to_record_batch([*rows, batch]).to_pylist() == expect  # type: ignore[list-item]
    merged = merge_blocks(rows[:3])  # type: ignore[arg-type]
    assert merged.n == 3 and not merged.row and merged.cols[0] == [now, now - 1, now - 2]

    async def go() -> Spool:
        sp = Spool(tmp_path, commit_ms=1)
        await asyncio.gather(*[sp.append(b) for b in rows[:5]])  # type: ignore[arg-type]
        await asyncio.gather(*[sp.append(b) for b in rows[5:]], sp.append(batch))  # type: ignore[arg-type]
        await sp.drain()
        return sp

    sp = asyncio.run(go())
    sp.close()
    got = read_table(_sealed(sp)).to_pylist()
    key = lambda r: bytes(r["event_id"].bytes)  # noqa: E731
    assert sorted(got, key=key) == sorted(expect, key=key)
    first = next(r for r in got if r["visitor_id"] == "v1")
    assert (first["utm_source"], first["utm_medium"], first["channel"], first["value"], first["country"]) == (
        "news", "email", "email", 1.5, "DE")
