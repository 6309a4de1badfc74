"""ClickHouse tables: a ClickHouse server over HTTP, or a chDB data directory (one process)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlparse

import clickhouse_connect
import pyarrow as pa
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

from kernel.schema import ARROW_SCHEMA
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

    def materialize(self, name: str, variables: dict[str, Any] | None = None) -> int:
        rendered = self.render_model(name, variables)
        order_by = rendered.config.get("order_by", "tuple()")
        self.client.command(
            f"CREATE OR REPLACE TABLE `{name}` ENGINE = MergeTree ORDER BY {order_by} "
            f"AS {rendered.sql}"
        )
        return int(self.client.query(f"SELECT count() FROM `{name}`").result_rows[0][0])

    def has_model(self, name: str) -> bool:
        res = self.client.query("EXISTS TABLE {n:Identifier}", parameters={"n": name})
        return bool(res.result_rows[0][0])
