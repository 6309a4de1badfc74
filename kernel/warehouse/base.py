"""The warehouse interface shared by the ClickHouse server and the embedded lake."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import polars as pl
import pyarrow as pa
from clickhouse_connect.driver.client import Client

from kernel.warehouse.templating import Rendered, model_text, render

log = logging.getLogger(__name__)


class WarehouseError(RuntimeError):
    """A warehouse operation failed; ``transient`` tells a caller whether to retry."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Warehouse(ABC):
    """ClickHouse SQL over one of two storages. All access goes through clickhouse-connect."""

    kind: str

    def __init__(self, client: Client | None = None) -> None:
        self._client = client

    def _connect(self) -> Client:
        raise WarehouseError("this warehouse has no client")

    @property
    def client(self) -> Client:
        """The clickhouse-connect client, created on first use (shipping needs none on the lake)."""
        if self._client is None:
            self._client = self._connect()
        return self._client

    # -- backend specifics ---------------------------------------------------------------------
    @abstractmethod
    def source_sql(self, name: str) -> str:
        """SQL for a raw source table (``events``)."""

    @abstractmethod
    def ref_sql(self, name: str) -> str:
        """SQL for a materialized model."""

    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending DDL migrations; returns the names applied (idempotent)."""

    @abstractmethod
    def insert_events(self, table: pa.Table, token: str) -> bool:
        """Insert events idempotently: a second call with the same ``token`` adds nothing."""

    @abstractmethod
    def materialize(self, name: str, variables: dict[str, Any] | None = None, *,
                    parameters: dict[str, Any] | None = None,
                    partitions: Sequence[str] | None = None) -> int:
        """Compute model ``name`` and store it; returns the number of rows written.

        Args:
            variables: Jinja variables of the template (e.g. ``partitioned=True``).
            parameters: bound query parameters (``{start:Date}``).
            partitions: replace only these values of the model's ``config(partition_by=...)``
                column, each atomically; rows of other partitions in the result are dropped
                and a listed partition without rows is emptied. None replaces the whole table.
        """

    @abstractmethod
    def write_table(self, name: str, table: pa.Table, *, partitions: Sequence[str] | None = None,
                    partition_by: str | None = None, order_by: str | None = None) -> int:
        """Store a table computed outside SQL (e.g. by a Python algorithm) as model ``name``.

        It is then read like any model, with ``{{ ref(name) }}``. With ``partitions``, only
        rows whose ``partition_by`` column (as text) is listed replace those partitions.
        Returns the number of rows written.
        """

    @abstractmethod
    def applied_migrations(self) -> list[str]:
        """Names of the migrations recorded as applied."""

    def models_written_at(self) -> dict[str, float]:
        """When each materialized model was last written (Unix seconds), for freshness."""
        rows = self.query("SELECT table AS name, toUnixTimestamp(max(modification_time)) AS t "
                          "FROM system.parts WHERE database = currentDatabase() AND active "
                          "GROUP BY table")
        return {str(r["name"]): float(r["t"]) for r in rows if r["name"] != "events"
                and "__staging_" not in r["name"] and "__new_" not in r["name"]}

    @abstractmethod
    def has_model(self, name: str) -> bool:
        """Whether model ``name`` has been materialized."""

    def compact(self) -> dict[str, int]:
        """Merge small files (lake) — a no-op on a server, where merges are ClickHouse's job."""
        return {}

    # -- shared --------------------------------------------------------------------------------
    def render(self, template: str, variables: dict[str, Any] | None = None) -> Rendered:
        return render(template, self.source_sql, self.ref_sql, variables)

    def render_model(self, name: str, variables: dict[str, Any] | None = None) -> Rendered:
        return self.render(model_text(name), variables)

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run templated SQL (``{{ source('events') }}``) and return rows as dicts."""
        res = self.client.query(self.render(sql).sql, parameters=parameters or {})
        names: Sequence[str] = res.column_names
        return [dict(zip(names, row, strict=True)) for row in res.result_rows]

    def query_arrow(self, sql: str, parameters: dict[str, Any] | None = None) -> pa.Table:
        return self.client.query_arrow(self.render(sql).sql, parameters=parameters or {})

    def query_polars(self, sql: str, parameters: dict[str, Any] | None = None) -> pl.DataFrame:
        frame = pl.from_arrow(self.query_arrow(sql, parameters))
        assert isinstance(frame, pl.DataFrame)
        return frame

    def scalar(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        res = self.client.query(self.render(sql).sql, parameters=parameters or {})
        return res.result_rows[0][0] if res.result_rows else None

    def count_events(self, org_id: str | None = None) -> int:
        where = "WHERE org_id = {org:String}" if org_id else ""
        return int(
            self.scalar(f"SELECT count() FROM {{{{ source('events') }}}} {where}", {"org": org_id})
        )

    def describe(self, select_sql: str,
                 parameters: dict[str, Any] | None = None) -> list[tuple[str, str]]:
        res = self.client.query(f"DESCRIBE TABLE ({select_sql})", parameters=parameters or {})
        return [(r[0], r[1]) for r in res.result_rows]

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is None:
            return
        try:
            self._client.close()
        except Exception:  # pragma: no cover - closing is best effort
            log.debug("closing warehouse client failed", exc_info=True)
