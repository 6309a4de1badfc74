"""Leads (opt-ins): list with filters, read, create server-side, erase, export as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app_api.deps import PermEvents, PermExport, PermTeam
from app_api.errors import conflict, not_found
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
)
from kernel.metadata.models import Lead, LeadMagnet
from kernel.metadata.outbox import enqueue
from kernel.metadata.tenancy import TenantSession

router = APIRouter(prefix="/v1/leads", tags=["leads"])

LeadId = Annotated[str, Path(max_length=64, pattern=ID_PATTERN)]
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

    def apply(self, stmt: sa.Select[Any]) -> sa.Select[Any]:
        if self.magnet_id:
            stmt = stmt.where(Lead.magnet_id == self.magnet_id)
        if self.variant:
            stmt = stmt.where(Lead.variant == self.variant)
        if self.email:
            stmt = stmt.where(Lead.email == self.email)
        if self.consent is not None:
            stmt = stmt.where(Lead.consent.is_(self.consent))
        if self.created_after:
            stmt = stmt.where(Lead.created_at >= self.created_after)
        if self.created_before:
            stmt = stmt.where(Lead.created_at < self.created_before)
        return stmt


Filters = Annotated[LeadFilters, Query()]


def lead_summary(lead: Lead) -> dict[str, Any]:
    """The lead as it appears in webhook payloads."""
    return {"id": lead.id, "magnet_id": lead.magnet_id, "variant": lead.variant,
            "email": lead.email, "name": lead.name, "consent": lead.consent,
            "fields": lead.fields, "utm": lead.utm,
            "created_at": lead.created_at.isoformat() if lead.created_at else None}


@router.get("", response_model=Page[LeadOut])
def list_leads(ctx: PermExport, filters: Filters, cursor: str | None = CursorQuery,
               limit: int = LimitQuery) -> dict[str, object]:
    """Leads, newest first; filter by magnet, variant, email, consent and creation time."""
    rows, nxt = paginate(ctx.db, filters.apply(ctx.db.select(Lead)), Lead, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.post("", response_model=LeadOut, status_code=201)
def create_lead(body: LeadIn, ctx: PermEvents) -> Lead:
    """Record an opt-in from your own server (emits lead.created)."""
    if ctx.db.get(LeadMagnet, body.magnet_id) is None:
        raise not_found("magnet", body.magnet_id)
    dup = ctx.db.scalar(ctx.db.select(Lead).where(Lead.magnet_id == body.magnet_id,
                                                  Lead.email == body.email))
    if dup is not None:
        raise conflict(f"{body.email} already opted in to this magnet (lead {dup.id})")
    lead = ctx.db.add(Lead(**body.model_dump()))
    ctx.db.flush()
    ctx.audit("lead.created", "lead", lead.id, None, {"id": lead.id, "magnet_id": lead.magnet_id})
    enqueue(ctx.db.session, ctx.org_id, "lead.created", {"lead": lead_summary(lead)})
    ctx.db.commit()
    return lead


def _csv_cell(value: Any) -> str:
    text = "" if value is None else value.isoformat() if isinstance(value, dt.datetime) \
        else str(value)
    # Spreadsheets run cells starting with these as formulas (CSV injection): quote them.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _export_rows(sessions: Any, org_id: str, filters: LeadFilters) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    cursor: str | None = None
    with sessions() as session:
        db = TenantSession(session, org_id)
        while True:
            rows, cursor = paginate(db, filters.apply(db.select(Lead)), Lead, cursor,
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
    ctx.audit("leads.exported", "lead", None, None,
              {"format": "csv", "filters": filters.model_dump(exclude_none=True)})
    ctx.db.commit()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        _export_rows(ctx.state.sessions, ctx.org_id, filters), media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="leads-{stamp}.csv"'})


@router.get("/{lead_id}", response_model=LeadOut)
def get_lead(lead_id: LeadId, ctx: PermExport) -> Lead:
    """One lead."""
    lead = ctx.db.get(Lead, lead_id)
    if lead is None:
        raise not_found("lead", lead_id)
    return lead


@router.delete("/{lead_id}", status_code=204)
def delete_lead(lead_id: LeadId, ctx: PermTeam) -> Response:
    """Erase a lead (right to erasure); the audit entry keeps no personal data."""
    lead = ctx.db.get(Lead, lead_id)
    if lead is None:
        raise not_found("lead", lead_id)
    # no personal data in the audit entry
    ctx.delete(lead, "lead", {"id": lead.id, "magnet_id": lead.magnet_id, "created_at": lead.created_at})
    return Response(status_code=204)

