"""The embedded lake: atomic, idempotent appends; compaction invisible to concurrent readers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pyarrow.parquet as pq

from kernel.events import make_row, rows_to_arrow
from kernel.settings import Settings
from kernel.warehouse.lake import LakeTable
from kernel.warehouse.lake_backend import LakeWarehouse
from tests.helpers import ROOT, child_env

READER = """
import json, sys, time
from pathlib import Path
from kernel.warehouse.lake_backend import LakeWarehouse
wh = LakeWarehouse(Path(sys.argv[1]))
stop = Path(sys.argv[2])
while not stop.exists():
    r = wh.query("SELECT count() AS n, uniqExact(event_id) AS u FROM {{ source('events') }}")[0]
    print(json.dumps(r), flush=True)
"""


def _segment(n: int, ts: int = 1_764_000_000_000) -> object:
    return rows_to_arrow([make_row(org_id="o", event="pageview", ts=ts + i) for i in range(n)])


def test_append_is_atomic_and_idempotent(tmp_path: Path) -> None:
    table = LakeTable(tmp_path / "t", "event_id UUID")
    seg = _segment(10)
    assert table.append(seg, name="seg-1") is True
    assert table.append(seg, name="seg-1") is False  # a replay adds nothing
    assert [f.name for f in table.files()] == ["seg-1.parquet"]
    assert not list((tmp_path / "t").glob(".tmp-*"))  # no temporary file left behind
    assert pq.read_table(tmp_path / "t" / "seg-1.parquet").num_rows == 10


def test_reader_during_compaction_sees_no_duplicate_and_no_gap(settings: Settings) -> None:
    wh = LakeWarehouse(settings.lake_dir)
    stop = settings.data_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.lake_dir), str(stop)],
        env=child_env(settings), cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    assert reader.stdout is not None
    lines.append(reader.stdout.readline())  # the reader is up and querying
    collector = threading.Thread(target=lambda: lines.extend(reader.stdout or []), daemon=True)
    collector.start()
    try:
        expected = 0
        for i in range(24):
            wh.insert_events(_segment(500), f"seg-{i:03d}")
            expected += 500
            if i % 6 == 5:
                result = wh.compact(min_files=3)
                assert result["merged_files"] >= 3
            time.sleep(0.02)
        time.sleep(1.0)  # let the reader observe the final state
    finally:
        stop.touch()
        reader.wait(timeout=60)
        collector.join(timeout=10)
    observations = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(observations) >= 10, "the reader should have queried during the writes"
    assert all(o["n"] == o["u"] for o in observations), "a reader saw an event twice"
    counts = [o["n"] for o in observations]
    assert counts == sorted(counts), "a reader missed events that it had seen before"
    assert counts[-1] == expected == wh.count_events()
    wh.close()


def test_compaction_dedupes_event_ids_and_retires_files_after_grace(settings: Settings) -> None:
    wh = LakeWarehouse(settings.lake_dir)
    eid = uuid.uuid4()
    dup = rows_to_arrow([make_row(event_id=eid, org_id="o", event="lead", ts=1_764_000_000_000)])
    for i in range(4):  # the same event sent in four different requests (client retries)
        wh.insert_events(dup, f"retry-{i}")
    assert wh.count_events() == 4
    result = wh.compact(min_files=2)
    assert result["merged_files"] == 4 and result["rows"] == 1
    assert wh.count_events() == 1
    seg_files = list(wh.events.dir.glob("seg-*.parquet"))
    assert len(seg_files) == 4  # retired, kept for readers that may still hold the old list
    assert wh.events.collect_garbage(grace_seconds=0) == 4
    assert not list(wh.events.dir.glob("seg-*.parquet"))
    assert wh.count_events() == 1
    wh.close()


def test_replaying_an_insert_after_compaction_merged_it_adds_nothing(settings: Settings) -> None:
    """A collector killed between its lake insert and deleting the segment replays that batch
    on restart; a compaction in between must not make the replay a second copy."""
    wh = LakeWarehouse(settings.lake_dir)
    batches = {f"slot-{k}-{1_764_000_000_000_000_000 + i}-1": _segment(5, ts=1_764_000_000_000 + 10 * (k * 10 + i))
               for k in range(2) for i in range(3)}
    for token, table in batches.items():
        assert wh.insert_events(table, token) is True
    assert wh.compact(min_files=2)["rows"] == 30
    for token, table in batches.items():  # every slot replays its batches
        assert wh.insert_events(table, token) is False
    assert wh.count_events() == 30
    assert len(list(wh.events.dir.glob("seg-*.parquet"))) == 6  # the retired originals only
    assert wh.insert_events(_segment(5, ts=1_764_000_900_000), "slot-0-1764000000000000099-1") is True
    assert wh.count_events() == 35
    wh.close()


def test_the_memory_of_merged_names_is_bounded_per_writer(tmp_path: Path) -> None:
    from kernel.warehouse.lake import ABSORBED_PER_WRITER, LakeFile

    table = LakeTable(tmp_path / "t", "event_id UUID")
    names = [f"seg-slot-3-{i:04d}-1" for i in range(ABSORBED_PER_WRITER + 10)]
    for n in names:
        table.append(_segment(1), name=n)
    table.swap([f"{n}.parquet" for n in names], [LakeFile("compact-1.parquet", len(names))])
    absorbed = json.loads((tmp_path / "t" / "_manifest.json").read_text())["absorbed"]
    assert absorbed == {"seg-slot-3": [f"{n}.parquet" for n in names[-ABSORBED_PER_WRITER:]]}
    assert table.append(_segment(1), name=names[-1]) is False  # the latest are remembered
