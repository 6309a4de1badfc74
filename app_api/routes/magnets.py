"""Lead magnets: create, list, read, edit, delete (status changes: magnet_workflow.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response
from pydantic import Field

from app_api.deps import Context, PermRead, PermWrite
from app_api.errors import conflict
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import (
    ID_PATTERN,
    Id,
    In,
    JSONObject,
    Money,
    Name,
    Out,
    Page,
    PathId,
    QueryText,
    Slug,
)
from content import magnets
from kernel.metadata.enums import MagnetStatus, MagnetType
from kernel.metadata.models import Experiment, Lead, LeadMagnet

router = APIRouter(prefix="/v1/magnets", tags=["magnets"])



class VariantOut(Out):
    id: str
    magnet_id: str
    key: str
    name: str
    content: dict[str, Any]
    design: dict[str, Any]
    is_control: bool
    created_at: dt.datetime


class MagnetOut(Out):
    id: str
    site_id: str | None
    name: str
    slug: str
    type: MagnetType
    status: MagnetStatus
    content: dict[str, Any]
    design: dict[str, Any]
    lead_value: float | None
    published_at: dt.datetime | None
    created_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class MagnetDetail(MagnetOut):
    variants: list[VariantOut]


class MagnetIn(In):
    name: Name
    slug: Slug
    type: MagnetType
    site_id: Id | None = None
    content: JSONObject = Field(default_factory=dict)
    design: JSONObject = Field(default_factory=dict)
    lead_value: Money | None = None


class MagnetPatch(In):
    name: Name | None = None
    slug: Slug | None = None
    site_id: Id | None = None
    content: JSONObject | None = None
    design: JSONObject | None = None
    lead_value: Money | None = None


def get_magnet(ctx: Context, magnet_id: str) -> LeadMagnet:
    """The caller's magnet or 404."""
    return ctx.get(LeadMagnet, magnet_id, "magnet")


@router.get("", response_model=Page[MagnetOut])
def list_magnets(
    ctx: PermRead,
    status: MagnetStatus | None = None,
    type: MagnetType | None = None,
    site_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    q: Annotated[QueryText | None, Query(description="Name contains (case-insensitive).")] = None,
    cursor: str | None = CursorQuery,
    limit: int = LimitQuery,
) -> dict[str, object]:
    """Magnets of your organization, newest first; filter by status, type, site or name."""
    stmt = ctx.db.select(LeadMagnet)
    if status is not None:
        stmt = stmt.where(LeadMagnet.status == status)
    if type is not None:
        stmt = stmt.where(LeadMagnet.type == type)
    if site_id:
        stmt = stmt.where(LeadMagnet.site_id == site_id)
    if q:
        stmt = stmt.where(sa.func.lower(LeadMagnet.name).contains(q.lower(), autoescape=True))
    rows, nxt = paginate(ctx.db, stmt, LeadMagnet, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.post("", response_model=MagnetDetail, status_code=201)
def create_magnet(body: MagnetIn, ctx: PermWrite) -> LeadMagnet:
    """Create a magnet in draft."""
    creator = ctx.principal.actor if ctx.principal.actor_type == "user" else None
    magnet = magnets.create_magnet(ctx.db.session, ctx.org_id, ctx.actor, body.model_dump(),
                                   creator)
    ctx.db.commit()
    return magnet


@router.get("/{magnet_id}", response_model=MagnetDetail)
def read_magnet(magnet_id: PathId, ctx: PermRead) -> LeadMagnet:
    """One magnet with its variants."""
    return get_magnet(ctx, magnet_id)


@router.patch("/{magnet_id}", response_model=MagnetDetail)
def update_magnet(magnet_id: PathId, body: MagnetPatch, ctx: PermWrite) -> LeadMagnet:
    """Edit a magnet; slug, content and design can change only while it is a draft."""
    magnet = magnets.update_magnet(ctx.db.session, get_magnet(ctx, magnet_id), ctx.actor,
                                   body.model_dump(exclude_unset=True))
    ctx.db.commit()
    return magnet


@router.delete("/{magnet_id}", status_code=204)
def delete_magnet(magnet_id: PathId, ctx: PermWrite) -> Response:
    """Delete a draft or archived magnet that has no leads and no experiments."""
    magnet = get_magnet(ctx, magnet_id)
    if magnet.status not in (MagnetStatus.DRAFT, MagnetStatus.ARCHIVED):
        raise conflict(f"magnet is {MagnetStatus(magnet.status).value}; archive it first "
                       f"(POST /v1/magnets/{magnet.id}/archive)")
    for model, what in ((Lead, "leads"), (Experiment, "experiments")):
        if ctx.db.scalar(ctx.db.select(model).where(model.magnet_id == magnet.id).limit(1)):
            raise conflict(f"magnet has {what}; keep it archived instead of deleting it")
    ctx.delete(magnet, "magnet")
    return Response(status_code=204)

