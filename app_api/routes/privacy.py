"""Data-subject rights: find a person, export everything about them once, erase them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from app_api.deps import PermExport, PermTeam
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import Date, Email, Id, In, LongText, Name, Out, Page, PathId
from kernel.metadata.enums import LegalBasis
from kernel.metadata.models import Organization, PrivacyRequest, RetentionPolicy
from privacy import pii_policy, register, report, report_pdf, retention
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
    #: Days to keep raw events per visitor region: a two-letter country code (DE) or a
    #: group (EU, EEA); a country's rule overrides its group's.
    regions: dict[Annotated[str, Field(min_length=2, max_length=3)], Days] | None = None


class RetentionOut(Out):
    raw_events_days: int | None
    unconfirmed_leads_days: int | None
    regions: dict[str, int]
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
    return policy or {"raw_events_days": None, "unconfirmed_leads_days": None, "regions": {},
                      "last_run": None}


@router.put("/retention", response_model=RetentionOut)
def set_retention(body: RetentionIn, ctx: PermTeam) -> RetentionPolicy:
    """Set how long raw events and unconfirmed leads are kept (applied daily; audited)."""
    policy = retention.set_policy(ctx.db.session, ctx.org_id, ctx.actor, **body.model_dump())
    ctx.db.commit()
    return policy


# -- record of processing activities (GDPR art. 30) ------------------------------------------

Items = Annotated[list[Name], Field(max_length=50)]
PurposeKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,22}$")]


class Transfer(In):
    """Personal data sent outside the EEA: to whom, where, under which safeguard."""

    recipient: Name
    country: Name
    safeguard: Name = Field(description="e.g. adequacy decision, standard contractual clauses")


class ActivityIn(In):
    name: Name
    purpose: LongText = Field(min_length=1)
    legal_basis: LegalBasis
    consent_purpose: PurposeKey | None = Field(
        None, description="Key of the consent purpose relied on; required for legal_basis "
        "consent (see /v1/consent/purposes).")
    data_categories: Items = []
    data_subjects: Items = []
    recipients: Items = []
    retention: LongText = ""
    transfers: Annotated[list[Transfer], Field(max_length=50)] = []


class ActivityPatch(In):
    """The fields to change; the others stay."""

    name: Name | None = None
    purpose: LongText | None = Field(None, min_length=1)
    legal_basis: LegalBasis | None = None
    consent_purpose: PurposeKey | None = None
    data_categories: Items | None = None
    data_subjects: Items | None = None
    recipients: Items | None = None
    retention: LongText | None = None
    transfers: Annotated[list[Transfer], Field(max_length=50)] | None = None


class ActivityOut(Out):
    id: str | None = Field(description="null for an activity of the derived default register")
    name: str
    purpose: str
    legal_basis: str
    consent_purpose: str | None
    data_categories: list[str]
    data_subjects: list[str]
    recipients: list[str]
    retention: str
    transfers: list[dict[str, Any]]
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


class RegisterOut(Out):
    source: Literal["stored", "default"] = Field(
        description="default: none stored yet, derived from what the product processes")
    data: list[ActivityOut]


def _values(body: In, partial: bool = False) -> dict[str, Any]:
    values = body.model_dump(mode="json", exclude_unset=partial)
    if partial:
        explicit_null = {"consent_purpose"}
        values = {k: v for k, v in values.items() if v is not None or k in explicit_null}
    return values


@router.get("/processing-activities", response_model=RegisterOut)
def list_activities(ctx: PermExport) -> dict[str, Any]:
    """The record of processing activities (a derived default until one is stored)."""
    rows, source = register.register(ctx.db.session, ctx.org_id, ctx.settings)
    return {"source": source, "data": [a.as_dict() for a in rows]}


@router.post("/processing-activities", response_model=ActivityOut, status_code=201)
def create_activity(body: ActivityIn, ctx: PermTeam) -> dict[str, Any]:
    """Add an activity; the first write stores the default register first (audited)."""
    made = register.create(ctx.db.session, ctx.org_id, ctx.actor, ctx.settings, _values(body))
    ctx.db.commit()
    return made.as_dict()


@router.get("/processing-activities/{activity_id}", response_model=ActivityOut)
def get_activity(activity_id: PathId, ctx: PermExport) -> dict[str, Any]:
    """One stored activity."""
    return register.get(ctx.db.session, ctx.org_id, activity_id).as_dict()


@router.patch("/processing-activities/{activity_id}", response_model=ActivityOut)
def update_activity(activity_id: PathId, body: ActivityPatch, ctx: PermTeam) -> dict[str, Any]:
    """Change some fields of an activity (audited with before and after)."""
    changed = register.update(ctx.db.session, ctx.org_id, ctx.actor, activity_id,
                              _values(body, partial=True))
    ctx.db.commit()
    return changed.as_dict()


@router.delete("/processing-activities/{activity_id}", status_code=204)
def delete_activity(activity_id: PathId, ctx: PermTeam) -> Response:
    """Remove an activity from the register (audited)."""
    register.delete(ctx.db.session, ctx.org_id, ctx.actor, activity_id)
    ctx.db.commit()
    return Response(status_code=204)


# -- compliance report ----------------------------------------------------------------------

StartQuery = Annotated[Date | None, Query(description="First day (UTC, inclusive); default: "
                                                      "364 days before end.")]
EndQuery = Annotated[Date | None, Query(description="Last day (UTC, inclusive); default: today.")]


@router.get("/compliance-report", response_model=dict[str, Any])
def compliance_report(ctx: PermExport, start: StartQuery = None,
                      end: EndQuery = None) -> dict[str, Any]:
    """Purposes and consent rates, requests and durations, retention, recipients, security."""
    return report.build(ctx.db.session, ctx.org_id, ctx.settings, start, end)


@router.get("/compliance-report/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}},
                             "description": "The same report as an A4 PDF document."}})
def compliance_report_pdf(ctx: PermExport, start: StartQuery = None,
                          end: EndQuery = None) -> Response:
    """The compliance report as a PDF a DPO can hand an auditor."""
    built = report.build(ctx.db.session, ctx.org_id, ctx.settings, start, end)
    period = built["period"]
    name = f"compliance-report-{built['organization']['slug']}-{period['start']}-{period['end']}"
    return Response(report_pdf.pdf(built), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})


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
