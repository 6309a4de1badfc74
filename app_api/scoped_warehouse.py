"""Tenant scoping by construction: every source and ref is pre-filtered by the caller's org.

Routes get this object from ``Context.warehouse()`` and nothing else: the unscoped
warehouse it wraps is private (tests/app_api/test_isolation.py fails if a route module can
reach an unscoped warehouse or metadata session).
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa

from kernel.warehouse.base import Warehouse
from kernel.warehouse.templating import model_text, render

ORG_PARAM = "__scope_org"


class ScopedWarehouse:
    """Queries through this object can only ever read rows of ``org_id``.

    ``{{ source('events') }}`` and ``{{ ref('x') }}`` render as sub-queries filtered with a
    bound ``org_id`` parameter, so a query that forgets its own ``WHERE org_id = ...`` still
    cannot see another tenant's rows.
    """

    def __init__(self, warehouse: Warehouse, org_id: str) -> None:
        if not org_id:
            raise ValueError("a scoped warehouse needs an org_id")
        self._warehouse = warehouse
        self.org_id = org_id

    def _source(self, name: str) -> str:
        return f"(SELECT * FROM {self._warehouse.source_sql(name)} WHERE org_id = {{{ORG_PARAM}:String}})"

    def _ref(self, name: str) -> str:
        return f"(SELECT * FROM {self._warehouse.ref_sql(name)} WHERE org_id = {{{ORG_PARAM}:String}})"

    def _params(self, parameters: dict[str, Any] | None) -> dict[str, Any]:
        return {**(parameters or {}), ORG_PARAM: self.org_id}

    def sql(self, template: str, variables: dict[str, Any] | None = None) -> str:
        return render(template, self._source, self._ref, variables).sql

    def model_sql(self, name: str, variables: dict[str, Any] | None = None) -> str:
        """The SELECT of SQL model ``name`` over this organization's rows (run inline, e.g.
        over the events a roll-up has not seen yet)."""
        return self.sql(model_text(name), variables)

    def query(self, template: str, parameters: dict[str, Any] | None = None,
              variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        res = self._warehouse.client.query(self.sql(template, variables),
                                           parameters=self._params(parameters))
        return [dict(zip(res.column_names, row, strict=True)) for row in res.result_rows]

    def query_columns(self, template: str, parameters: dict[str, Any] | None = None,
                      variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Like :meth:`query`, through Arrow: arrays arrive as numpy arrays (fast for
        millions of elements), other values as Python ones."""
        table = self._warehouse.client.query_arrow(self.sql(template, variables),
                                                   parameters=self._params(parameters))
        cols: dict[str, list[Any]] = {}
        for name, col in zip(table.column_names, table.columns, strict=True):
            chunk = col.combine_chunks()
            if pa.types.is_list(chunk.type) or pa.types.is_large_list(chunk.type):
                offsets = chunk.offsets.to_numpy()
                values = chunk.values.to_numpy(zero_copy_only=False)
                cols[name] = [values[offsets[i]:offsets[i + 1]] for i in range(len(chunk))]
            else:
                cols[name] = chunk.to_pylist()
        return [dict(zip(cols, row, strict=True)) for row in zip(*cols.values(), strict=True)]

    def query_polars(self, template: str, parameters: dict[str, Any] | None = None) -> pl.DataFrame:
        table = self._warehouse.client.query_arrow(self.sql(template), parameters=self._params(parameters))
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame

    def has_model(self, name: str) -> bool:
        return self._warehouse.has_model(name)

    def model_version(self, name: str) -> float:
        """When model ``name`` was last written (changes with every run; 0 if never)."""
        return self._warehouse.models_written_at().get(name, 0.0)

    def columns(self, model: str) -> list[str]:
        """Column names of the SQL model ``model`` (its schema; no rows are read)."""
        return [c for c, _t in self._warehouse.describe(
            f"SELECT * FROM {self._warehouse.ref_sql(model)}")]
