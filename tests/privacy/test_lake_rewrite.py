"""The lake's erasure rewrite, row group by row group: the person's rows leave, every other
row, the row-group layout and the file's schema stay; a dictionary value only the person's
rows used leaves the dictionary page too. And the byte scan finds a value in a Parquet
dictionary page that no row uses (it searches the dictionaries, not only the rows)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kernel.schema import ARROW_SCHEMA
from kernel.warehouse import lake
from kernel.warehouse.lake_backend import LakeWarehouse
from privacy import scan
from privacy.stores import warehouse
from privacy.subject import Subject

EMAIL = "rowgroup.person@example.com"
VISITOR = "v-rowgroup-person"
ORG = "org_rg"


def _events(n: int) -> pa.Table:
    rng = np.random.default_rng(3)
    visitors = [f"v{i}" for i in rng.integers(0, 50, n)]
    urls = [f"https://example.com/p{i % 5}" for i in range(n)]
    props = ["{}"] * n
    for i in (120, 150):  # the person, in the second row group only
        visitors[i] = VISITOR
        urls[i] = f"https://example.com/thanks?vid={VISITOR}"  # a URL only they have
    props[250] = json.dumps({"email": EMAIL})  # their email under another visitor id
    ts = pa.array(np.arange(n) * 1000, pa.timestamp("ms", tz="UTC"))
    uuids = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(
        rng.bytes(16 * n))])
    cols = {"event_id": pa.ExtensionArray.from_storage(pa.uuid(), uuids), "ts": ts,
            "received_at": ts, "event": pa.array(["pageview"] * n), "visitor_id": visitors,
            "props": props, "url": urls, "value": pa.array(np.zeros(n)), "org_id": [ORG] * n,
            "flags": pa.array(np.zeros(n, dtype=np.uint16))}
    arrays = [pa.array(cols[f.name], f.type) if f.name in cols else pa.array([""] * n)
              for f in ARROW_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


def test_rewrite_keeps_every_other_row_and_the_layout(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lake, "ROW_GROUP_ROWS", 100)  # appends write 3 row groups of 100
    wh = LakeWarehouse(tmp_path / "lake")
    events = _events(300)
    wh.events.append(events, name="seg-1")
    old = wh.events.dir / "seg-1.parquet"
    assert pq.ParquetFile(old).metadata.num_row_groups == 3
    assert "parquet" in {h.how for h in scan.scan_files(tmp_path, [EMAIL, VISITOR])}

    subject = Subject(ORG, EMAIL, (), (VISITOR,))
    masks = warehouse._file_masks(old, subject, warehouse.TEXT_COLUMNS)
    assert masks is not None and masks[0] is None  # the first row group holds none of them
    assert warehouse.erase(wh, subject) == {"events": 3}

    (new,) = wh.events.files()
    assert not old.exists() and wh.events.retired() == []
    pf = pq.ParquetFile(wh.events.dir / new.name)
    assert [pf.metadata.row_group(i).num_rows for i in range(3)] == [100, 98, 99]
    kept = pq.read_table(wh.events.dir / new.name)
    assert kept.schema.equals(events.schema, check_metadata=True)  # strings, not dictionaries
    gone = pc.is_in(pa.array(np.arange(300)), value_set=pa.array([120, 150, 250]))
    assert kept.equals(events.filter(pc.invert(gone)))
    assert new.rows == 297 and wh.count_events() == 297
    # The URL only the person had is out of the url column's dictionary page as well.
    assert scan.scan_files(tmp_path, [EMAIL, VISITOR]) == []
    wh.close()


def test_byte_scan_finds_an_unused_dictionary_value(tmp_path: Path) -> None:
    col = pa.DictionaryArray.from_arrays(pa.array([0, 0, 1], pa.int32()),
                                         pa.array(["a", "b", f"x {EMAIL}"]))
    pq.write_table(pa.table({"c": col}), tmp_path / "t.parquet", compression="zstd")
    assert pa.compute.unique(pq.read_table(tmp_path / "t.parquet")["c"]).to_pylist() == [
        "a", "b"]  # no row has it: only the dictionary page does
    assert "parquet" in {h.how for h in scan.scan_files(tmp_path, [EMAIL])}


def test_a_compaction_during_the_erasure_is_erased_by_a_second_pass(tmp_path: Path) -> None:
    wh = LakeWarehouse(tmp_path / "lake")
    events = _events(300)
    for k in range(3):
        wh.events.append(events.slice(k * 100, 100), name=f"seg-{k}")

    class CompactingPool(ThreadPoolExecutor):
        """Runs a real compaction after the first pass rewrote the files, before its swap."""

        compacted = 0

        def map(self, fn, *iterables, **kwargs):  # type: ignore[no-untyped-def]
            results = list(super().map(fn, *iterables, **kwargs))
            if not self.compacted:
                self.compacted = wh.compact(min_files=2)["merged_files"]
            return iter(results)

    subject = Subject(ORG, EMAIL, (), (VISITOR,))
    with CompactingPool(2) as pool:
        assert warehouse._erase_table(wh.events, subject, warehouse.TEXT_COLUMNS, pool) == 3
        assert pool.compacted == 3
    (f,) = wh.events.files()  # the second pass rewrote the compacted file
    assert f.name.startswith("erased-") and f.rows == 297 and wh.count_events() == 297
    # The files that held the person are deleted; seg-0 (none of them) waits out its grace.
    assert wh.events.retired() == ["seg-0.parquet"]
    assert not (wh.events.dir / "seg-1.parquet").exists()
    wh.events.collect_garbage(grace_seconds=0)
    assert sorted(p.name for p in wh.events.dir.glob("*.parquet")) == [f.name]
    assert scan.scan_files(tmp_path, [EMAIL, VISITOR]) == []
    wh.close()
