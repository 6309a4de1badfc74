"""Query endpoints the dashboards use; every query runs through the org-scoped warehouse."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app_api.deps import PermAnalytics
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
