"""The embedded default: a Parquet lake in ``data_dir/lake`` queried by an in-memory chDB."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import clickhouse_connect
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from clickhouse_connect.driver.client import Client

from kernel.durable import fsync_dir
from kernel.schema import ARROW_SCHEMA, ch_structure
from kernel.warehouse.arrow_types import ch_columns, check_partitions, structure
from kernel.warehouse.base import Warehouse, WarehouseError
from kernel.warehouse.lake import MANIFEST, LakeFile, LakeTable, write_parquet_atomic
from warehouse_sql import MIGRATIONS_DIR

log = logging.getLogger(__name__)

SMALL_FILE_ROWS = 2_000_000
COMPACT_MIN_FILES = 8


class LakeWarehouse(Warehouse):
    """Immutable Parquet files per table, a manifest per table, chDB for the SQL."""

    kind = "lake"

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        super().__init__()
        self.events = LakeTable(self.root / "events", ch_structure())

    def _connect(self) -> Client:
        return clickhouse_connect.get_client(interface="chdb")

    # -- tables --------------------------------------------------------------------------------
    def _model_table(self, name: str) -> LakeTable:
        directory = self.root / "models" / name
        structure_file = directory / "_structure"
        if not structure_file.exists():
            raise WarehouseError(
                f"model {name!r} has not been materialized yet; run its Dagster asset "
                "or `lodestone materialize`"
            )
        return LakeTable(directory, structure_file.read_text(encoding="utf-8"))

    def source_sql(self, name: str) -> str:
        if name != "events":
            raise WarehouseError(f"unknown source {name!r}; sources: events")
        return self.events.sql()

    def ref_sql(self, name: str) -> str:
        return self._model_table(name).sql()

    def models_written_at(self) -> dict[str, float]:
        # The manifest is replaced (os.replace) by every publish: its mtime is the last write.
        out = {}
        for manifest in (self.root / "models").glob(f"*/{MANIFEST}"):
            try:
                out[manifest.parent.name] = manifest.stat().st_mtime
            except FileNotFoundError:
                continue
        return out

    def has_model(self, name: str) -> bool:
        return (self.root / "models" / name / "_structure").exists()

    # -- migrations ----------------------------------------------------------------------------
    def _migrations_file(self) -> Path:
        return self.root / "_migrations.json"

    def applied_migrations(self) -> list[str]:
        try:
            applied: list[str] = json.loads(self._migrations_file().read_text())["applied"]
            return applied
        except FileNotFoundError:
            return []

    def migrate(self) -> list[str]:
        """The lake's schema is the event schema itself (Parquet + an explicit structure), so
        a DDL migration only records its version here; missing columns in older files read as
        defaults (``input_format_parquet_allow_missing_columns``)."""
        applied = self.applied_migrations()
        new = [p.stem for p in sorted(MIGRATIONS_DIR.glob("*.sql")) if p.stem not in applied]
        if new:
            tmp = self.root / f".tmp-{uuid.uuid4().hex}"
            tmp.write_text(json.dumps({"applied": applied + new}))
            os.replace(tmp, self._migrations_file())
            fsync_dir(self.root)
        return new

    # -- writes --------------------------------------------------------------------------------
    def insert_events(self, table: pa.Table, token: str) -> bool:
        if table.schema != ARROW_SCHEMA:
            table = table.select(list(ARROW_SCHEMA.names)).cast(ARROW_SCHEMA)
        return self.events.append(table, name=f"seg-{token}")

    def materialize(self, name: str, variables: dict[str, Any] | None = None, *,
                    parameters: dict[str, Any] | None = None,
                    partitions: Sequence[str] | None = None) -> int:
        # No ORDER BY on the lake: chDB plans some models far worse under a final sort (a
        # 10M-event sessions model took 7x longer), and per-day files already bound a scan.
        rendered = self.render_model(name, variables)
        params = dict(parameters or {})
        columns = self.describe(rendered.sql, params)
        partition_by = rendered.config.get("partition_by")
        target = self._target(name, columns, partitions, partition_by)
        token = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        esc = target.structure.replace("\\", "\\\\").replace("'", "\\'")
        where = ""
        if partitions is not None:
            where = f" WHERE toString(`{partition_by}`) IN {{__partitions:Array(String)}}"
            params["__partitions"] = list(partitions)
        pattern = "{_partition_id}" if partition_by else "all"
        split = f" PARTITION BY toString(`{partition_by}`)" if partition_by else ""
        self.client.command(
            f"INSERT INTO FUNCTION file('{target.dir}/.tmp-{token}-{pattern}.parquet', Parquet, "
            f"'{esc}'){split} SELECT * FROM ({rendered.sql}) AS model{where}",
            parameters=params, settings={"engine_file_truncate_on_insert": 1},
        )
        written = []
        for tmp in sorted(target.dir.glob(f".tmp-{token}-*.parquet")):
            part = tmp.name.removeprefix(f".tmp-{token}-").removesuffix(".parquet")
            final = f"part-{part}-{token}.parquet"
            written.append(LakeFile(final, pq.read_metadata(tmp).num_rows,
                                    part if partition_by else ""))
            os.replace(tmp, target.dir / final)
        return self._commit(target, written, partitions)

    def write_table(self, name: str, table: pa.Table, *, partitions: Sequence[str] | None = None,
                    partition_by: str | None = None, order_by: str | None = None) -> int:
        columns = ch_columns(table.schema, (partition_by,) if partition_by else ())
        if partitions is not None and not partition_by:
            raise WarehouseError(f"write_table({name!r}): partitions need partition_by")
        target = self._target(name, columns, partitions, partition_by)
        token = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        if partition_by:
            keys = pc.cast(table[partition_by], pa.string())
            groups = sorted(set(keys.to_pylist()))
            if partitions is not None:
                groups = [g for g in groups if g in set(partitions)]
            pieces = [(g, table.filter(pc.equal(keys, g))) for g in groups]
        else:
            pieces = [("", table)]
        written = []
        for part, piece in pieces:
            final = f"part-{part or 'all'}-{token}.parquet"
            write_parquet_atomic(piece, target.dir / final)
            written.append(LakeFile(final, piece.num_rows, part))
        return self._commit(target, written, partitions)

    def _target(self, name: str, columns: list[tuple[str, str]],
                partitions: Sequence[str] | None, partition_by: str | None) -> LakeTable:
        """The model's table with its new structure; partial writes must keep the structure."""
        if partitions is not None:
            if not partition_by:
                raise WarehouseError(f"model {name!r} has no config(partition_by=...)")
            check_partitions(list(partitions))
        new = structure(columns)
        directory = self.root / "models" / name
        directory.mkdir(parents=True, exist_ok=True)
        old = directory / "_structure"
        if partitions is not None and old.exists() and old.read_text(encoding="utf-8") != new:
            others = [f for f in LakeTable(directory, new).files()
                      if f.partition not in set(partitions)]
            if others:
                raise WarehouseError(
                    f"the columns of {name!r} changed; materialize it without partitions once "
                    "to rewrite every partition")
        return LakeTable(directory, new)

    def _commit(self, target: LakeTable, written: list[LakeFile],
                partitions: Sequence[str] | None) -> int:
        """Publish the structure, then swap the new files in for the replaced ones at once."""
        st = target.dir / f".tmp-structure-{uuid.uuid4().hex}"
        st.write_text(target.structure, encoding="utf-8")
        os.replace(st, target.dir / "_structure")
        fsync_dir(target.dir)
        target.publish(written, partitions)
        target.collect_garbage()
        return sum(f.rows for f in written)

    def compact(self, min_files: int = COMPACT_MIN_FILES) -> dict[str, int]:
        """Merge small event files into one sorted file, deduplicated by event_id.

        Readers never see a partial state: the new file enters and the old ones leave the
        manifest in one atomic replace; the old files are deleted after a grace period.
        """
        small = [f for f in self.events.files() if f.rows < SMALL_FILE_ROWS]
        result = {"merged_files": 0, "rows": 0, "removed": self.events.collect_garbage()}
        if len(small) < min_files:
            return result
        fname = f"compact-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.events.dir / f".tmp-{fname}"
        esc = self.events.structure.replace("'", "\\'")
        self.client.command(
            f"INSERT INTO FUNCTION file('{tmp}', Parquet, '{esc}') "
            f"SELECT * FROM {self.events.sql(small)} "
            "ORDER BY org_id, ts, event_id LIMIT 1 BY event_id",
            settings={"engine_file_truncate_on_insert": 1},
        )
        rows = int(self.client.query(f"SELECT count() FROM file('{tmp}', Parquet)").result_rows[0][0])
        os.replace(tmp, self.events.dir / fname)
        fsync_dir(self.events.dir)
        self.events.swap([f.name for f in small], [LakeFile(fname, rows)])
        result.update(merged_files=len(small), rows=rows)
        log.info("compacted %d event files into %s (%d rows)", len(small), fname, rows)
        return result
