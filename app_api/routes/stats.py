"""Read endpoints over the warehouse models under /v1/stats: daily magnet metrics and the
analytics assets (funnels, cohorts, attribution, ROI, experiment results).

Every read goes through the org-scoped warehouse: ``ref()`` renders as a sub-query filtered
by the caller's organization, so these routes cannot return another tenant's rows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from app_api.deps import Context, PermAnalytics
from app_api.errors import APIError

router = APIRouter(prefix="/v1/stats", tags=["stats"])

#: A day within the range of ClickHouse's Date type.
Day = Annotated[dt.date, Field(ge=dt.date(1970, 1, 1), le=dt.date(2149, 6, 6))]


class DailyMagnetMetric(BaseModel):
    day: dt.date
    magnet_id: str
    variant: str
    visitors: int
    views: int
    form_starts: int
    leads: int
    conversion_rate: float
    revenue: float


class DailyMagnetMetrics(BaseModel):
    data: list[DailyMagnetMetric]
    totals: dict[str, float]


@router.get("/daily-magnet-metrics", response_model=DailyMagnetMetrics)
def daily_magnet_metrics(
    ctx: PermAnalytics,
    start: Annotated[Day | None, Query(description="First day (inclusive), UTC.")] = None,
    end: Annotated[Day | None, Query(description="Last day (inclusive), UTC.")] = None,
    magnet_id: str | None = Query(None, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"),
) -> dict[str, Any]:
    """Visitors, views, leads, conversion rate and revenue per magnet, variant and day."""
    wh = ctx.warehouse()
    if start and end and start > end:
        raise APIError(400, "bad_request", "start must not be after end")
    if not wh.has_model("daily_magnet_metrics"):
        return {"data": [], "totals": {"views": 0, "leads": 0, "revenue": 0.0}}
    rows = wh.query(
        "SELECT day, magnet_id, variant, visitors, views, form_starts, leads, conversion_rate, "
        "revenue FROM {{ ref('daily_magnet_metrics') }} "
        "WHERE day >= {start:Date} AND day <= {end:Date} "
        "AND ({magnet:String} = '' OR magnet_id = {magnet:String}) "
        "ORDER BY day, magnet_id, variant",
        {"start": start or dt.date(1970, 1, 1), "end": end or dt.date(2100, 1, 1),
         "magnet": magnet_id or ""},
    )
    totals = {
        "views": float(sum(r["views"] for r in rows)),
        "leads": float(sum(r["leads"] for r in rows)),
        "revenue": float(sum(r["revenue"] for r in rows)),
    }
    return {"data": rows, "totals": totals}


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
    columns = wh.columns(table)
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
