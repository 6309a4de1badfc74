"""ClickHouse tables: a ClickHouse server over HTTP, or a chDB data directory (one process)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote, urlparse

import clickhouse_connect
import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

from kernel.schema import ARROW_SCHEMA
from kernel.warehouse.arrow_types import ch_columns, check_partitions, structure
from kernel.warehouse.base import Warehouse, WarehouseError
from warehouse_sql import MIGRATIONS_DIR

log = logging.getLogger(__name__)

MIGRATIONS_TABLE = "_lodestone_migrations"


def connect(url: str) -> Client:
    """A clickhouse-connect client for ``http(s)://user:pw@host:port/db`` or ``chdb:///dir``."""
    if url.startswith("chdb://"):
        path = url.removeprefix("chdb://") or ":memory:"
        return clickhouse_connect.get_client(interface="chdb", path=path)
    parts = urlparse(url)
    return clickhouse_connect.get_client(
        interface=parts.scheme,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (8443 if parts.scheme == "https" else 8123),
        username=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
        database=parts.path.strip("/") or "default",
        connect_timeout=5,
        send_receive_timeout=300,
    )


def split_statements(sql: str) -> list[str]:
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


class ClickHouseWarehouse(Warehouse):
    """Real ClickHouse tables (MergeTree family), the production layout."""

    kind = "clickhouse"

    def __init__(self, url: str) -> None:
        try:
            client = connect(url)
        except OperationalError as exc:
            raise WarehouseError(f"cannot reach ClickHouse at {url}: {exc}", transient=True) from exc
        super().__init__(client)
        self.url = url

    def source_sql(self, name: str) -> str:
        if name != "events":
            raise WarehouseError(f"unknown source {name!r}; sources: events")
        return "(SELECT * FROM events FINAL)"

    def ref_sql(self, name: str) -> str:
        return f"`{name}`"

    def applied_migrations(self) -> list[str]:
        self.client.command(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name String, applied_at DateTime "
            "DEFAULT now()) ENGINE = ReplacingMergeTree ORDER BY name"
        )
        res = self.client.query(f"SELECT name FROM {MIGRATIONS_TABLE} FINAL ORDER BY name")
        return [r[0] for r in res.result_rows]

    def migrate(self) -> list[str]:
        applied = set(self.applied_migrations())
        done = []
        for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
            if path.stem in applied:
                continue
            for statement in split_statements(path.read_text(encoding="utf-8")):
                self.client.command(statement)
            self.client.insert(MIGRATIONS_TABLE, [[path.stem]], column_names=["name"])
            done.append(path.stem)
            log.info("applied warehouse migration %s", path.stem)
        return done

    def insert_events(self, table: pa.Table, token: str) -> bool:
        if table.schema != ARROW_SCHEMA:
            table = table.select(list(ARROW_SCHEMA.names)).cast(ARROW_SCHEMA)
        try:
            self.client.insert_arrow(
                "events", table, settings={"insert_deduplication_token": token}
            )
        except OperationalError as exc:
            raise WarehouseError(f"insert failed: {exc}", transient=True) from exc
        return True

    def materialize(self, name: str, variables: dict[str, Any] | None = None, *,
                    parameters: dict[str, Any] | None = None,
                    partitions: Sequence[str] | None = None) -> int:
        rendered = self.render_model(name, variables)
        params = dict(parameters or {})
        engine = self._engine(rendered.config.get("order_by"), rendered.config.get("partition_by"))
        if partitions is None:
            self.client.command(
                f"CREATE OR REPLACE TABLE `{name}` {engine} AS {rendered.sql}", parameters=params)
            return self._count(name)
        partition_by = self._partition_column(name, rendered.config.get("partition_by"))
        columns = self.describe(rendered.sql, params)
        params["__partitions"] = check_partitions(list(partitions))
        return self._replace_partitions(
            name, columns, engine, partition_by, list(partitions),
            lambda staging: self.client.command(
                f"INSERT INTO `{staging}` SELECT * FROM ({rendered.sql}) AS model "
                f"WHERE toString(`{partition_by}`) IN {{__partitions:Array(String)}}",
                parameters=params))

    def write_table(self, name: str, table: pa.Table, *, partitions: Sequence[str] | None = None,
                    partition_by: str | None = None, order_by: str | None = None) -> int:
        columns = ch_columns(table.schema, (partition_by,) if partition_by else ())
        engine = self._engine(order_by, partition_by)
        if partitions is None:
            staging = f"{name}__new_{uuid.uuid4().hex[:8]}"
            self.client.command(f"CREATE TABLE `{staging}` ({structure(columns)}) {engine}")
            try:
                if table.num_rows:
                    self.client.insert_arrow(staging, table)
                if self.has_model(name):
                    self.client.command(f"EXCHANGE TABLES `{staging}` AND `{name}`")
                else:
                    self.client.command(f"RENAME TABLE `{staging}` TO `{name}`")
            finally:
                self.client.command(f"DROP TABLE IF EXISTS `{staging}`")
            return self._count(name)
        column = self._partition_column(name, partition_by)
        wanted = set(check_partitions(list(partitions)))
        keys = pc.cast(table[column], pa.string())
        mask = pc.is_in(keys, value_set=pa.array(sorted(wanted), pa.string()))
        rows = table.filter(mask)

        def insert(staging: str) -> None:
            if rows.num_rows:
                self.client.insert_arrow(staging, rows)

        return self._replace_partitions(name, columns, engine, column, sorted(wanted), insert)

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _engine(order_by: str | None, partition_by: str | None) -> str:
        part = f" PARTITION BY `{partition_by}`" if partition_by else ""
        return f"ENGINE = MergeTree{part} ORDER BY {order_by or 'tuple()'}"

    @staticmethod
    def _partition_column(name: str, partition_by: str | None) -> str:
        if not partition_by:
            raise WarehouseError(f"model {name!r} has no config(partition_by=...)")
        return partition_by

    def _count(self, name: str) -> int:
        return int(self.client.query(f"SELECT count() FROM `{name}`").result_rows[0][0])

    def _replace_partitions(self, name: str, columns: list[tuple[str, str]], engine: str,
                            partition_by: str, partitions: list[str],
                            fill: Callable[[str], Any]) -> int:
        """Fill a staging copy, then move each partition in (REPLACE PARTITION is atomic per
        partition); a listed partition without new rows is dropped."""
        self.client.command(f"CREATE TABLE IF NOT EXISTS `{name}` ({structure(columns)}) {engine}")
        current = self.describe(f"SELECT * FROM `{name}`")
        if [c for c, _ in current] != [c for c, _ in columns] or any(
                a[1] != b[1] for a, b in zip(current, columns, strict=True)):
            raise WarehouseError(f"the columns of {name!r} changed; materialize it without "
                                 "partitions once to rewrite every partition")
        staging = f"{name}__staging_{uuid.uuid4().hex[:8]}"
        self.client.command(f"CREATE TABLE `{staging}` AS `{name}`")
        try:
            fill(staging)
            res = self.client.query(
                f"SELECT toString(`{partition_by}`) AS p, count() FROM `{staging}` GROUP BY p")
            counts = {r[0]: int(r[1]) for r in res.result_rows}
            for p in partitions:
                verb = f"REPLACE PARTITION '{p}' FROM `{staging}`" if p in counts else (
                    f"DROP PARTITION '{p}'")
                self.client.command(f"ALTER TABLE `{name}` {verb}")
        finally:
            self.client.command(f"DROP TABLE IF EXISTS `{staging}`")
        return sum(counts.get(p, 0) for p in partitions)

    def has_model(self, name: str) -> bool:
        res = self.client.query("EXISTS TABLE {n:Identifier}", parameters={"n": name})
        return bool(res.result_rows[0][0])
