"""Read endpoints over the analytics assets (funnels, cohorts, attribution, ROI, experiments).

Every read goes through the org-scoped warehouse: ``ref()`` renders as a sub-query filtered
by the caller's organization, so these routes cannot return another tenant's rows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from app_api.deps import Context, PermAnalytics
from app_api.errors import APIError

router = APIRouter(prefix="/v1/stats", tags=["stats"])

#: route path -> (asset table, columns a caller may filter on with equality)
MODELS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "funnels": ("funnels", ("magnet_id", "variant"), "Funnel steps per magnet and variant."),
    "cohorts": ("cohorts", ("channel", "magnet_id"), "Lead cohorts by acquisition week."),
    "attribution": ("attribution", ("model", "channel"), "Conversions credited per channel and model."),
    "roi": ("roi", ("model", "channel"), "Spend, cost per lead, ROAS and ROI per channel and model."),
    "experiment-results": ("experiment_results", ("experiment_key", "variant"),
                           "Statistics of each experiment at every daily look."),
}
MAX_ROWS = 20_000


class ModelRows(BaseModel):
    model: str
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def read_model(ctx: Context, table: str, filters: dict[str, str | None]) -> dict[str, Any]:
    """Rows of ``table`` for the caller's organization, filtered on known columns."""
    wh = ctx.warehouse()
    if not wh.has_model(table):
        return {"model": table, "columns": [], "rows": [], "truncated": False}
    columns = [c for c, _t in wh.warehouse.describe(f"SELECT * FROM {wh.warehouse.ref_sql(table)}")]
    where, params = ["1"], {}
    for i, (column, value) in enumerate(filters.items()):
        if value is not None:
            where.append(f"`{column}` = {{f{i}:String}}")
            params[f"f{i}"] = value
    if params:  # a filter value that names nothing is refused, never silently empty
        seen = wh.query(f"SELECT {', '.join(f'countIf({w}) AS c{i}' for i, w in enumerate(where[1:]))} "
                        f"FROM {{{{ ref('{table}') }}}}", params)[0]
        given = [(c, v) for c, v in filters.items() if v is not None]
        unknown = [(c, v) for i, (c, v) in enumerate(given) if not seen[f"c{i}"]]
        if unknown:
            raise APIError(400, "unknown_filter_value", "no " + table + " rows have " + ", ".join(
                f"{c} = {v!r}" for c, v in unknown), details=[{"field": c, "value": v}
                                                             for c, v in unknown])
    rows = wh.query(
        f"SELECT * FROM {{{{ ref('{table}') }}}} WHERE {' AND '.join(where)} LIMIT {MAX_ROWS + 1}",
        params,
    )
    shown = [{k: _clean(v) for k, v in r.items() if k != "org_id"} for r in rows[:MAX_ROWS]]
    return {"model": table, "columns": [c for c in columns if c != "org_id"], "rows": shown,
            "truncated": len(rows) > MAX_ROWS}


def _endpoint(table: str, filter_columns: tuple[str, ...], doc: str) -> Callable[..., dict[str, Any]]:
    a, b = filter_columns

    def endpoint(
        ctx: PermAnalytics,
        request: Request,
        first: str | None = Query(None, alias=a, max_length=128, description=f"Only rows with this {a}."),
        second: str | None = Query(None, alias=b, max_length=128, description=f"Only rows with this {b}."),
    ) -> dict[str, Any]:
        unknown = sorted(set(request.query_params) - {a, b})
        if unknown:
            raise APIError(400, "unknown_filter", f"{table} can be filtered on {a} and {b} only; "
                           f"unknown: {', '.join(unknown)}", details=[{"field": u} for u in unknown])
        return read_model(ctx, table, {a: first, b: second})

    endpoint.__doc__ = doc
    endpoint.__name__ = f"read_{table}"
    return endpoint


for _path, (_table, _filters, _doc) in MODELS.items():
    router.add_api_route(f"/{_path}", _endpoint(_table, _filters, _doc), methods=["GET"],
                         response_model=ModelRows, summary=_doc, name=f"read_{_table}")
