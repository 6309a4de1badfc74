"""Overview endpoints of the dashboards: headline numbers per window, top lists, time series.

Every number is one of :data:`app_api.metrics.METRICS`, computed from its one SQL
expression over the caller's events (real time) or the ``sessions`` roll-up (channels, which
need GA4's session grouping). Filter values that name nothing are refused with a 400.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel

from app_api import metrics as M
from app_api.deps import Context, PermAnalytics
from app_api.errors import APIError
from app_api.overview_data import OverviewData, day_start
from kernel.metadata.models import LeadMagnet

router = APIRouter(prefix="/v1/overview", tags=["overview"])

DEVICES = ("desktop", "mobile", "tablet")
MAX_PERIOD_DAYS = 366
Device = Literal["desktop", "mobile", "tablet"]
Country = Annotated[str | None, Query(pattern=r"^[A-Z]{2}$", description="ISO country code.")]
MagnetQ = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                                      description="Only this magnet's events.")]
StartQ = Annotated[dt.date | None, Query(description="First day (inclusive, UTC); default 29 days before end.")]
EndQ = Annotated[dt.date | None, Query(description="Last day (inclusive, UTC); default today.")]


class Window(BaseModel):
    start: dt.datetime
    end: dt.datetime
    metrics: dict[str, float]


class Summary(BaseModel):
    as_of: dt.datetime
    windows: dict[str, Window]
    deltas: dict[str, float | None]
    definitions: dict[str, str]


class TopRows(BaseModel):
    dimension: str
    source: str
    rows: list[dict[str, Any]]


class Series(BaseModel):
    granularity: str
    rows: list[dict[str, Any]]


class Definition(BaseModel):
    name: str
    label: str
    unit: str
    definition: str


def magnet_names(ctx: Context) -> dict[str, str]:
    """id -> name of the organization's magnets."""
    rows = ctx.db.execute(sa.select(LeadMagnet.id, LeadMagnet.name)
                          .where(LeadMagnet.org_id == ctx.org_id)).all()
    return {r[0]: r[1] for r in rows}


def period(start: dt.date | None, end: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The chosen days (inclusive), defaulting to the last 30; refuses nonsense."""
    end = end or today
    start = start or end - dt.timedelta(days=29)
    if start > end:
        raise APIError(400, "bad_request", "start must not be after end")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise APIError(400, "bad_request", f"a period is at most {MAX_PERIOD_DAYS} days")
    return start, end


def _filters(ctx: Context, magnet_id: str | None, device: str | None,
             country: str | None) -> tuple[str, dict[str, Any]]:
    where, params = [], {}
    if magnet_id is not None:
        if magnet_id not in magnet_names(ctx):
            raise APIError(400, "unknown_filter_value",
                           f"magnet_id {magnet_id!r} is not a magnet of this organization",
                           details=[{"field": "magnet_id", "value": magnet_id}])
        where.append("magnet_id = {magnet:String}")
        params["magnet"] = magnet_id
    if device is not None:
        where.append("device = {device:String}")
        params["device"] = device
    if country is not None:
        where.append("country = {country:String}")
        params["country"] = country
    return "".join(f" AND {w}" for w in where), params


def _data(ctx: Context) -> OverviewData:
    return OverviewData(ctx.warehouse())


@router.get("/definitions", response_model=list[Definition])
def definitions(ctx: PermAnalytics) -> list[dict[str, str]]:
    """The one definition of every metric the dashboards show."""
    return [{"name": m.name, "label": m.label, "unit": m.unit, "definition": m.definition}
            for m in M.METRICS]


@router.get("/summary", response_model=Summary)
def summary(ctx: PermAnalytics, start: StartQ = None, end: EndQ = None,
            magnet_id: MagnetQ = None, device: Device | None = None,
            country: Country = None) -> dict[str, Any]:
    """Headline metrics for the last 30 minutes, today, the period and the previous period."""
    now = dt.datetime.fromtimestamp(time.time(), dt.UTC)
    first, last = period(start, end, now.date())
    extra, params = _filters(ctx, magnet_id, device, country)
    days = (last - first).days + 1
    p_start, p_end = day_start(first), day_start(last) + dt.timedelta(days=1)
    spans = {
        "last_30_minutes": (now - dt.timedelta(minutes=30), now),
        "today": (day_start(now.date()), now),
        "period": (p_start, p_end),
        "previous_period": (p_start - dt.timedelta(days=days), p_start),
    }
    data = _data(ctx)
    computed = {"last_30_minutes": data.recent(*spans["last_30_minutes"], extra, params),
                **data.windows({"today": (now.date(), now.date()), "period": (first, last),
                                "previous_period": (first - dt.timedelta(days=days),
                                                    first - dt.timedelta(days=1))},
                               extra, params)}
    windows = {name: {"start": a, "end": b, "metrics": computed[name]}
               for name, (a, b) in spans.items()}
    cur, prev = computed["period"], computed["previous_period"]
    deltas = {k: ((cur[k] - prev[k]) / prev[k] if prev[k] else None) for k in cur}
    return {"as_of": now, "windows": windows, "deltas": deltas,
            "definitions": {m.name: m.definition for m in M.METRICS}}


@router.get("/top", response_model=TopRows)
def top(ctx: PermAnalytics,
        dimension: Literal["magnet", "channel", "landing_page", "country"],
        start: StartQ = None, end: EndQ = None, magnet_id: MagnetQ = None,
        device: Device | None = None, country: Country = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """The period's top magnets, channels (GA4, from sessions), landing pages or countries."""
    first, last = period(start, end, dt.datetime.now(dt.UTC).date())
    extra, params = _filters(ctx, magnet_id, device, country)
    data = _data(ctx)
    if dimension in ("channel", "landing_page"):
        if dimension == "channel" and magnet_id is not None:
            raise APIError(400, "bad_request", "channels come from sessions, which span "
                           "magnets: drop magnet_id to see channels")
        source, rows = data.sessions_grouped(dimension, first, last, extra, params, limit)
    else:
        source = "events"
        rows = data.grouped("magnet_id" if dimension == "magnet" else "country", first, last,
                            extra, params, limit)
    names = magnet_names(ctx) if dimension == "magnet" else {}
    out = []
    for r in rows:
        row = {"key": r["key"], **M.finish(r)}
        if dimension == "magnet":
            row["name"] = names.get(r["key"], r["key"])
        out.append(row)
    return {"dimension": dimension, "source": source, "rows": out}


@router.get("/timeseries", response_model=Series)
def timeseries(ctx: PermAnalytics, granularity: Literal["minute", "day"] = "day",
               start: StartQ = None, end: EndQ = None, magnet_id: MagnetQ = None,
               device: Device | None = None, country: Country = None) -> dict[str, Any]:
    """Metrics per UTC day of the period, or per minute of the last 30 minutes (distinct
    counts are per bucket: a visitor of two days is in both days' visitors)."""
    now = dt.datetime.now(dt.UTC)
    extra, params = _filters(ctx, magnet_id, device, country)
    data = _data(ctx)
    if granularity == "minute":
        a = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=29)
        b = now
        rows = data.grouped_minutes(a, b, extra, params)
        got = {r["key"].replace(tzinfo=dt.UTC): M.finish(r) for r in rows}
    else:
        first, last = period(start, end, now.date())
        a, b = day_start(first), day_start(last) + dt.timedelta(days=1)
        rows = data.grouped("day", first, last, extra, params, MAX_PERIOD_DAYS)
        got = {day_start(r["key"]): M.finish(r) for r in rows}
    step = dt.timedelta(minutes=1) if granularity == "minute" else dt.timedelta(days=1)
    out, t = [], a
    while t < b:  # every bucket, zeros included: a gap is a zero, not a missing point
        out.append({"bucket": t.isoformat(), **got.get(t, M.finish({}))})
        t += step
    return {"granularity": granularity, "rows": out}
