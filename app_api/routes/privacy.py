"""Data-subject rights: find a person, export everything about them once, erase them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import Field

from app_api.deps import PermExport, PermTeam
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import Email, Id, In, Out, Page, PathId
from kernel.metadata.models import Organization, PrivacyRequest, RetentionPolicy
from privacy import pii_policy, retention
from privacy import requests as service

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])

VisitorId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class PersonIn(In):
    """Exactly one identifier of the person."""

    email: Email | None = None
    lead_id: Id | None = None
    visitor_id: VisitorId | None = None


class RequestIn(PersonIn):
    kind: Literal["export", "erase"]


Days = Annotated[int, Field(ge=1, le=retention.MAX_DAYS)]


class RetentionIn(In):
    """Days to keep; null keeps forever."""

    raw_events_days: Days | None = None
    unconfirmed_leads_days: Days | None = None


class RetentionOut(Out):
    raw_events_days: int | None
    unconfirmed_leads_days: int | None
    last_run: dict[str, Any] | None


class PIIPolicyIn(In):
    """null: follow the server's LODESTONE_PII_POLICY."""

    policy: Literal["redact", "refuse", "off"] | None


class PIIPolicyOut(Out):
    policy: str | None
    effective: str
    default: str


class FoundOut(Out):
    email: str | None
    lead_ids: list[str]
    visitor_ids: list[str]
    counts: dict[str, int]


class RequestOut(Out):
    id: str
    kind: str
    status: str
    subject_hash: str
    job_id: str | None
    requested_by: str
    steps: dict[str, Any]
    error: str | None
    created_at: dt.datetime
    completed_at: dt.datetime | None
    archive_bytes: int | None
    expires_at: dt.datetime | None
    downloaded_at: dt.datetime | None


@router.post("/find", response_model=FoundOut)
def find_person(body: PersonIn, ctx: PermExport) -> dict[str, Any]:
    """Every lead and visitor id of a person, and how many records each store holds (audited)."""
    found = service.find(ctx.db.session, ctx.warehouse(), ctx.settings, ctx.org_id, ctx.actor,
                         **body.model_dump())
    ctx.db.commit()
    return found


@router.post("/requests", response_model=RequestOut, status_code=202)
def create_request(body: RequestIn, ctx: PermExport) -> PrivacyRequest:
    """Queue an export or an erasure of a person (a job; follow it here or at /v1/jobs)."""
    values = body.model_dump()
    req = service.request(ctx.db.session, ctx.org_id, ctx.actor, ctx.settings,
                          values.pop("kind"), created_by=ctx.principal.actor if ctx.principal.actor_type == "user" else None,
                           **values)
    ctx.db.commit()
    return req


@router.get("/requests", response_model=Page[RequestOut])
def list_requests(ctx: PermExport, cursor: str | None = CursorQuery,
                  limit: int = LimitQuery) -> dict[str, object]:
    """Export and erasure requests, newest first (no personal data: a keyed hash)."""
    rows, nxt = paginate(ctx.db, ctx.db.select(PrivacyRequest), PrivacyRequest, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.get("/requests/{request_id}", response_model=RequestOut)
def get_request(request_id: PathId, ctx: PermExport) -> PrivacyRequest:
    """One request: status, and rows removed per store once an erasure is done."""
    return ctx.get(PrivacyRequest, request_id, "privacy request")


@router.post("/requests/{request_id}/download", response_class=Response,
             responses={200: {"content": {"application/zip": {}},
                              "description": "The archive (JSON + CSV), served once."}})
def download_export(request_id: PathId, ctx: PermExport) -> Response:
    """Download an export's archive, once; it is deleted as it is served (410 afterwards)."""
    data = service.download(ctx.db.session, ctx.org_id, ctx.actor, ctx.settings, request_id)
    ctx.db.commit()
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="privacy-export-{request_id}.zip"'})


@router.get("/retention", response_model=RetentionOut)
def get_retention(ctx: PermTeam) -> Any:
    """The organization's retention policy and what its last daily run removed."""
    policy = ctx.db.scalars(ctx.db.select(RetentionPolicy)).first()
    return policy or {"raw_events_days": None, "unconfirmed_leads_days": None, "last_run": None}


@router.put("/retention", response_model=RetentionOut)
def set_retention(body: RetentionIn, ctx: PermTeam) -> RetentionPolicy:
    """Set how long raw events and unconfirmed leads are kept (applied daily; audited)."""
    policy = retention.set_policy(ctx.db.session, ctx.org_id, ctx.actor, **body.model_dump())
    ctx.db.commit()
    return policy


@router.get("/pii-policy", response_model=PIIPolicyOut)
def get_pii_policy(ctx: PermTeam) -> dict[str, Any]:
    """What happens to personal data in event props, form answers and AI prompts."""
    org = ctx.get(Organization, ctx.org_id, "organization")
    return pii_policy.current(org, ctx.settings.pii_policy)


@router.put("/pii-policy", response_model=PIIPolicyOut)
def set_pii_policy(body: PIIPolicyIn, ctx: PermTeam) -> dict[str, Any]:
    """Redact, refuse or pass personal data in free text (audited; collectors apply it
    within about a second)."""
    out = pii_policy.set_policy(ctx.db.session, ctx.org_id, ctx.actor, body.policy,
                                ctx.settings.pii_policy)
    ctx.db.commit()
    return out
