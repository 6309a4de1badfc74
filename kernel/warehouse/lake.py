"""The embedded lake: immutable Parquet files per table, listed by an atomically replaced manifest.

Why a manifest: a chDB data directory can be opened by one process only, so every process
(collector, API, Dagster, Streamlit) queries Parquet files with its own in-memory chDB. A
reader resolves the manifest once per query and reads exactly the files it lists, so a
compaction (which swaps files in the manifest in one ``os.replace``) can never make a reader
see an event twice or miss one. Replaced files are retired, and deleted only after a grace
period longer than any query.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kernel.durable import fsync_dir

MANIFEST = "_manifest.json"
LOCK = "_manifest.lock"
GRACE_SECONDS = 600.0


#: How the lake writes Parquet (appends, models, erasure rewrites): one codec, one row group size.
COMPRESSION = "zstd"
ROW_GROUP_ROWS = 256_000


@contextmanager
def parquet_writer_atomic(path: Path, schema: pa.Schema,
                          key_value: dict[bytes, bytes] | None = None,
                          use_dictionary: bool | list[str] = True,
                          ) -> Iterator[pq.ParquetWriter]:
    """A ``ParquetWriter`` (the lake's settings) on a temporary file that becomes ``path``
    (fsync, rename, fsync of the directory) only when the block ends without an error; write
    row groups with ``writer.write_table(t, row_group_size=ROW_GROUP_ROWS)``.

    ``key_value``: the file's key-value metadata exactly (another file's, with its
    ``ARROW:schema``), instead of the Arrow schema of ``schema``: a rewrite may then pass
    string columns dictionary-encoded and they read back as the strings they were.
    ``use_dictionary``: the columns to dictionary-encode (all by default)."""
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    try:
        with pq.ParquetWriter(tmp, schema, compression=COMPRESSION, use_dictionary=use_dictionary,
                              store_schema=key_value is None) as writer:
            yield writer
            if key_value:
                writer.add_key_value_metadata(key_value)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` via a temporary file, fsync and rename."""
    with parquet_writer_atomic(path, table.schema) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)


@dataclass(frozen=True)
class LakeFile:
    name: str
    rows: int
    partition: str = ""


# Names of appended files a compaction merged away, remembered per writer (spool slot) so
# that a replay of a writer's last insert is still recognised after its file is gone: a
# collector killed between a lake insert and deleting the segment replays that one batch
# first thing on restart, whatever compactions ran in between.
ABSORBED_PER_WRITER = 32
_WRITER = re.compile(r"^(.*?slot-\d+)-")


def _writer_of(fname: str) -> str:
    """The writer an appended file's name belongs to: its spool slot ("" if none)."""
    m = _WRITER.match(fname)
    return m.group(1) if m else ""


class LakeTable:
    """One table of the lake: a directory of Parquet files plus its manifest."""

    def __init__(self, directory: Path, structure: str) -> None:
        self.dir = directory
        self.structure = structure
        self.dir.mkdir(parents=True, exist_ok=True)

    # -- manifest ------------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        try:
            with open(self.dir / MANIFEST, encoding="utf-8") as fh:
                data: dict[str, Any] = json.load(fh)
                return data
        except FileNotFoundError:
            return {"version": 0, "files": [], "retired": []}

    def _write(self, data: dict[str, Any]) -> None:
        data["version"] = int(data.get("version", 0)) + 1
        tmp = self.dir / f".tmp-{uuid.uuid4().hex}{MANIFEST}"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.dir / MANIFEST)
        fsync_dir(self.dir)

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        with open(self.dir / LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = self._read()
                yield data
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def files(self) -> list[LakeFile]:
        """Files a reader should read now (one consistent snapshot)."""
        return [LakeFile(**f) for f in self._read()["files"]]

    def row_count(self) -> int:
        return sum(f.rows for f in self.files())

    # -- writes --------------------------------------------------------------------------------
    @staticmethod
    def _present(data: dict[str, Any], fname: str) -> bool:
        """Whether ``fname`` is listed, or was merged away by a compaction not long ago."""
        if any(f["name"] == fname for f in data["files"]):
            return True
        return fname in data.get("absorbed", {}).get(_writer_of(fname), ())

    def append(self, table: pa.Table, name: str | None = None, partition: str = "") -> bool:
        """Add ``table`` as a new immutable file. Idempotent on ``name``: False if present,
        also after a compaction merged that file away (see :meth:`swap`)."""
        name = name or f"seg-{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        fname = f"{name}.parquet"
        if self._present(self._read(), fname):
            return False
        write_parquet_atomic(table, self.dir / fname)
        with self._locked() as data:
            if self._present(data, fname):
                if not any(f["name"] == fname for f in data["files"]):
                    (self.dir / fname).unlink(missing_ok=True)  # merged away: not needed again
                return False
            data["files"].append({"name": fname, "rows": table.num_rows, "partition": partition})
            self._write(data)
        return True

    def replace(self, table: pa.Table, partition: str | None = None) -> None:
        """Atomically replace every file (or every file of ``partition``) with ``table``."""
        fname = f"part-{partition or 'all'}-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        write_parquet_atomic(table, self.dir / fname)
        with self._locked() as data:
            keep: list[dict[str, Any]] = []
            drop: list[dict[str, Any]] = []
            for f in data["files"]:
                (drop if partition is None or f.get("partition") == partition else keep).append(f)
            keep.append({"name": fname, "rows": table.num_rows, "partition": partition or ""})
            data["files"] = keep
            now = time.time()
            data["retired"] = data.get("retired", []) + [
                {"name": f["name"], "at": now} for f in drop
            ]
            self._write(data)

    def publish(self, new: list[LakeFile], partitions: Sequence[str] | None = None) -> None:
        """Atomically replace every file (or every file of ``partitions``) by the already
        written ``new`` files; the replaced files are retired. Decided under the lock, so
        concurrent writers of different partitions never drop each other's files."""
        drop_all = partitions is None
        wanted = set(partitions or ())
        with self._locked() as data:
            keep: list[dict[str, Any]] = []
            drop: list[dict[str, Any]] = []
            for f in data["files"]:
                (drop if drop_all or f.get("partition", "") in wanted else keep).append(f)
            data["files"] = keep + [
                {"name": f.name, "rows": f.rows, "partition": f.partition} for f in new
            ]
            now = time.time()
            data["retired"] = data.get("retired", []) + [
                {"name": f["name"], "at": now} for f in drop
            ]
            self._write(data)

    def swap(self, old: list[str], new: list[LakeFile]) -> None:
        """Replace the files named ``old`` by the already written ``new`` files, atomically."""
        with self._locked() as data:
            present = {f["name"] for f in data["files"]}
            missing = set(old) - present
            if missing:
                raise RuntimeError(f"files vanished during compaction: {sorted(missing)[:3]}")
            gone = set(old)
            absorbed: dict[str, list[str]] = data.setdefault("absorbed", {})
            for f in data["files"]:  # in append order: each writer's latest names come last
                if f["name"] in gone:
                    names = absorbed.setdefault(_writer_of(f["name"]), [])
                    names.append(f["name"])
                    del names[:-ABSORBED_PER_WRITER]
            data["files"] = [f for f in data["files"] if f["name"] not in gone] + [
                {"name": f.name, "rows": f.rows, "partition": f.partition} for f in new
            ]
            now = time.time()
            data["retired"] = data.get("retired", []) + [{"name": n, "at": now} for n in old]
            self._write(data)

    def purge(self, names: list[str]) -> int:
        """Delete the retired files ``names`` now, not after the grace period (erasure: the
        old bytes must go; a query still reading one of them fails and is retried)."""
        wanted = set(names)
        with self._locked() as data:
            present = {f["name"] for f in data["files"]}
            retired = data.get("retired", [])
            data["retired"] = [r for r in retired if r["name"] not in wanted]
            for name in wanted - present:
                (self.dir / name).unlink(missing_ok=True)
            if len(data["retired"]) != len(retired):
                self._write(data)
        return len(wanted - present)

    def retired(self) -> list[str]:
        """Files replaced in the manifest but not deleted yet (readers may still hold them)."""
        return [r["name"] for r in self._read().get("retired", [])]

    def collect_garbage(self, grace_seconds: float = GRACE_SECONDS) -> int:
        """Delete retired files older than the grace period and stray temporary files."""
        removed = 0
        with self._locked() as data:
            now = time.time()
            keep = []
            for r in data.get("retired", []):
                if now - r["at"] >= grace_seconds:
                    (self.dir / r["name"]).unlink(missing_ok=True)
                    removed += 1
                else:
                    keep.append(r)
            if removed:
                data["retired"] = keep
                self._write(data)
            for tmp in self.dir.glob(".tmp-*"):
                if now - tmp.stat().st_mtime > grace_seconds:
                    tmp.unlink(missing_ok=True)
            # Files a writer killed before publishing left behind: never listed, so never
            # read; deleted once older than the grace period (a live writer publishes
            # within seconds of writing them).
            known = {f["name"] for f in data["files"]} | {r["name"] for r in keep}
            for stray in self.dir.glob("*.parquet"):
                if stray.name not in known and now - stray.stat().st_mtime > grace_seconds:
                    stray.unlink(missing_ok=True)
                    removed += 1
        return removed

    # -- reads ---------------------------------------------------------------------------------
    def sql(self, files: list[LakeFile] | None = None) -> str:
        """A ``file(...)`` table function over one snapshot of the manifest."""
        names = [f.name for f in (self.files() if files is None else files)]
        structure = self.structure.replace("\\", "\\\\").replace("'", "\\'")
        if not names:
            pattern = f"{self.dir}/__empty__*.parquet"  # matches nothing: zero rows, same types
        elif len(names) == 1:
            pattern = f"{self.dir}/{names[0]}"
        else:
            stems = ",".join(n.removesuffix(".parquet") for n in names)
            pattern = f"{self.dir}/{{{stems}}}.parquet"
        return f"file('{pattern}', Parquet, '{structure}')"
