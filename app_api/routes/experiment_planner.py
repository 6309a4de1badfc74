"""Plan an experiment before it starts: users, days and the chance of a decision by a date."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app_api.deps import PermAnalytics
from app_api.errors import APIError, not_found
from app_api.schemas import ID_PATTERN
from experiments.planner import plan
from experiments.traffic import read_traffic
from kernel.metadata.models import Site

router = APIRouter(prefix="/v1/experiment-planner", tags=["experiments"])


class DesignOut(BaseModel):
    users_per_arm: float
    days: float
    median_days: float | None
    chance_to_decide: float
    chance_by_date: float | None


class TrafficOut(BaseModel):
    site_id: str
    metric: str
    days: int
    since: dt.datetime
    until: dt.datetime
    visitors: int
    converters: int
    users_per_day: float
    base_rate: float


class PlanOut(BaseModel):
    mde: float
    arms: int
    alpha: float
    power: float
    max_days: float
    by: dt.date | None
    traffic: TrafficOut
    fixed: DesignOut
    sequential: DesignOut
    summary: str


@router.get("", response_model=PlanOut)
def plan_experiment(
    ctx: PermAnalytics,
    site_id: Annotated[str, Query(max_length=64, pattern=ID_PATTERN,
                                  description="The site the experiment will run on.")],
    mde: Annotated[float, Query(description="Smallest relative lift worth detecting "
                                            "(0.1 = +10 %).")],
    metric: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = "lead",
    days: Annotated[int, Query(ge=1, le=365, description="Traffic window, days.")] = 28,
    by: Annotated[dt.date | None, Query(description="Chance of a decision by this day "
                                                    "(starting today, UTC).")] = None,
    arms: Annotated[int, Query(ge=2, le=5)] = 2,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
    power: Annotated[float, Query(gt=0, lt=1)] = 0.8,
    max_days: Annotated[int, Query(ge=1, le=365)] = 60,
) -> dict[str, Any]:
    """Expected users and days to a decision at the site's recent traffic, fixed and sequential."""
    if ctx.db.get(Site, site_id) is None:
        raise not_found("site", site_id)
    if not (mde > 0 and mde <= 10):  # also refuses NaN
        raise APIError(422, "invalid", f"mde must be a relative lift above 0 and at most 10 "
                                       f"(0.1 = +10 %), got {mde!r}",
                       details=[{"field": "mde", "message": "must be in (0, 10]"}])
    today = dt.datetime.now(dt.UTC)
    by_days = None
    if by is not None:
        by_days = (by - today.date()).days
        if by_days < 0:
            raise APIError(422, "invalid", f"by ({by}) is in the past",
                           details=[{"field": "by", "message": "must be today or later"}])
    traffic = read_traffic(ctx.warehouse(), ctx.org_id, site_id, metric, days, until=today)
    if traffic.error or traffic.users_per_day is None or traffic.base_rate is None:
        raise APIError(422, "no_traffic", traffic.error or "no traffic",
                       details=[{"field": "site_id", "message": traffic.error}])
    result = plan(mde, traffic.base_rate, traffic.users_per_day, arms, alpha, power,
                  by_days=by_days, max_days=max_days)
    if result.error or result.fixed is None or result.sequential is None:
        raise APIError(422, "invalid", result.error or "cannot plan")
    return {"mde": mde, "arms": arms, "alpha": alpha, "power": power, "max_days": max_days,
            "by": by, "traffic": traffic, "fixed": result.fixed,
            "sequential": result.sequential, "summary": result.summary}
