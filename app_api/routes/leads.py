"""Leads (opt-ins): list with filters, read, create server-side, erase, export as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app_api.deps import Context, PermEvents, PermExport, PermTeam
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import (
    ID_PATTERN,
    AwareDatetime,
    Email,
    Id,
    In,
    JSONObject,
    Key,
    Label,
    Out,
    Page,
    PathId,
)
from kernel.metadata.models import Lead
from leads import service
from leads.tags import set_tags

router = APIRouter(prefix="/v1/leads", tags=["leads"])

CSV_COLUMNS = ("id", "created_at", "magnet_id", "variant", "email", "name", "consent",
               "confirmed_at", "visitor_id", "utm_source", "utm_medium", "utm_campaign")
EXPORT_BATCH = 1000


class LeadOut(Out):
    id: str
    magnet_id: str
    variant: str | None
    email: str
    name: str | None
    fields: dict[str, Any]
    visitor_id: str | None
    consent: bool
    confirmed_at: dt.datetime | None
    utm: dict[str, Any]
    tags: list[str] = Field(default_factory=list)
    created_at: dt.datetime


class LeadIn(In):
    magnet_id: Id
    email: Email
    name: Label | None = None
    variant: Key | None = None
    fields: JSONObject = Field(default_factory=dict)
    visitor_id: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")] | None = None
    consent: bool = False
    utm: JSONObject = Field(default_factory=dict)


class LeadFilters(BaseModel):
    """Filters shared by the list and the CSV export."""

    magnet_id: str | None = Field(None, max_length=64, pattern=ID_PATTERN)
    variant: str | None = Field(None, max_length=32, pattern=ID_PATTERN)
    email: Email | None = None
    consent: bool | None = None
    created_after: AwareDatetime | None = None
    created_before: AwareDatetime | None = None

    def apply(self, stmt: sa.Select[Any], index: str | None = None) -> sa.Select[Any]:
        """``index``: the blind index of ``email`` (``service.email_index``)."""
        if self.magnet_id:
            stmt = stmt.where(Lead.magnet_id == self.magnet_id)
        if self.variant:
            stmt = stmt.where(Lead.variant == self.variant)
        if self.email:
            stmt = stmt.where(Lead.email_index == (index or "-"))
        if self.consent is not None:
            stmt = stmt.where(Lead.consent.is_(self.consent))
        if self.created_after:
            stmt = stmt.where(Lead.created_at >= self.created_after)
        if self.created_before:
            stmt = stmt.where(Lead.created_at < self.created_before)
        return stmt


Filters = Annotated[LeadFilters, Query()]


@router.get("", response_model=Page[LeadOut])
def list_leads(ctx: PermExport, filters: Filters, cursor: str | None = CursorQuery,
               limit: int = LimitQuery) -> dict[str, object]:
    """Leads, newest first; filter by magnet, variant, email, consent and creation time."""
    index = service.email_index(ctx.db.session, ctx.org_id, filters.email) if filters.email \
        else None
    rows, nxt = paginate(ctx.db, filters.apply(ctx.db.select(Lead), index), Lead, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.post("", response_model=LeadOut, status_code=201)
def create_lead(body: LeadIn, ctx: PermEvents) -> Lead:
    """Record an opt-in from your own server (emits lead.created)."""
    lead = service.create_lead(ctx.db.session, ctx.org_id, ctx.actor, **body.model_dump())
    ctx.db.commit()
    return lead


def _csv_cell(value: Any) -> str:
    text = "" if value is None else value.isoformat() if isinstance(value, dt.datetime) \
        else str(value)
    # Spreadsheets run cells starting with these as formulas (CSV injection): quote them.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _export_rows(ctx: Context, filters: LeadFilters) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    cursor: str | None = None
    with ctx.tenant_session() as db:
        index = service.email_index(db.session, ctx.org_id, filters.email) if filters.email \
            else None
        while True:
            rows, cursor = paginate(db, filters.apply(db.select(Lead), index), Lead, cursor,
                                    EXPORT_BATCH)
            for lead in rows:
                utm = lead.utm or {}
                writer.writerow([_csv_cell(v) for v in (
                    lead.id, lead.created_at, lead.magnet_id, lead.variant, lead.email,
                    lead.name, lead.consent, lead.confirmed_at, lead.visitor_id,
                    utm.get("source"), utm.get("medium"), utm.get("campaign"))])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
            if cursor is None:
                return


@router.get("/export", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "CSV, one lead a row."}})
def export_leads(ctx: PermExport, filters: Filters) -> StreamingResponse:
    """Download leads as CSV (same filters as the list); the export is audited."""
    service.record_export(ctx.db.session, ctx.org_id, ctx.actor, "csv",
                          filters.model_dump(exclude_none=True))
    ctx.db.commit()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        _export_rows(ctx, filters), media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="leads-{stamp}.csv"'})


@router.get("/{lead_id}", response_model=LeadOut)
def get_lead(lead_id: PathId, ctx: PermExport) -> Lead:
    """One lead."""
    return ctx.get(Lead, lead_id, "lead")


class TagsIn(In):
    tags: list[str] = Field(max_length=20, description="Lower-case labels (a-z, 0-9, - _).")


@router.put("/{lead_id}/tags", response_model=LeadOut)
def put_lead_tags(lead_id: PathId, body: TagsIn, ctx: PermTeam) -> Lead:
    """Replace a lead's tags (campaigns can be sent to the leads with a tag)."""
    lead = ctx.get(Lead, lead_id, "lead")
    set_tags(ctx.db.session, lead, body.tags, ctx.actor)
    ctx.db.commit()
    return lead


@router.delete("/{lead_id}", status_code=204)
def delete_lead(lead_id: PathId, ctx: PermTeam) -> Response:
    """Erase a lead (right to erasure); the audit entry keeps no personal data."""
    service.erase_lead(ctx.db.session, ctx.get(Lead, lead_id, "lead"), ctx.actor)
    ctx.db.commit()
    return Response(status_code=204)

