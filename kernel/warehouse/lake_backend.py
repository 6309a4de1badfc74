"""The embedded default: a Parquet lake in ``data_dir/lake`` queried by an in-memory chDB."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import clickhouse_connect
import pyarrow as pa
from clickhouse_connect.driver.client import Client

from kernel.schema import ARROW_SCHEMA, ch_structure
from kernel.warehouse.base import Warehouse, WarehouseError
from kernel.warehouse.lake import LakeFile, LakeTable, _fsync_dir
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
            _fsync_dir(self.root)
        return new

    # -- writes --------------------------------------------------------------------------------
    def insert_events(self, table: pa.Table, token: str) -> bool:
        if table.schema != ARROW_SCHEMA:
            table = table.select(list(ARROW_SCHEMA.names)).cast(ARROW_SCHEMA)
        return self.events.append(table, name=f"seg-{token}")

    def materialize(self, name: str, variables: dict[str, Any] | None = None) -> int:
        rendered = self.render_model(name, variables)
        columns = self.describe(rendered.sql)
        structure = ", ".join(f"{c} {t}" for c, t in columns)
        directory = self.root / "models" / name
        directory.mkdir(parents=True, exist_ok=True)
        table = LakeTable(directory, structure)
        fname = f"part-all-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        order_by = rendered.config.get("order_by")
        order = f" ORDER BY {order_by}" if order_by else ""
        esc = structure.replace("'", "\\'")
        tmp = directory / f".tmp-{fname}"
        self.client.command(
            f"INSERT INTO FUNCTION file('{tmp}', Parquet, '{esc}') "
            f"SELECT * FROM ({rendered.sql}){order}",
            settings={"engine_file_truncate_on_insert": 1},
        )
        rows = int(self.client.query(f"SELECT count() FROM file('{tmp}', Parquet)").result_rows[0][0])
        os.replace(tmp, directory / fname)
        st = directory / f".tmp-structure-{uuid.uuid4().hex}"
        st.write_text(structure, encoding="utf-8")
        os.replace(st, directory / "_structure")
        _fsync_dir(directory)
        old = [f.name for f in table.files()]
        table.swap(old, [LakeFile(fname, rows)])
        return rows

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
        _fsync_dir(self.events.dir)
        self.events.swap([f.name for f in small], [LakeFile(fname, rows)])
        result.update(merged_files=len(small), rows=rows)
        log.info("compacted %d event files into %s (%d rows)", len(small), fname, rows)
        return result
