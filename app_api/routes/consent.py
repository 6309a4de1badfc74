"""Consent per purpose: purposes and their text versions, grants, withdrawals, history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from app_api.deps import PermEvents, PermExport, PermRead, PermTeam
from app_api.schemas import Id, In, LongText, Name, Out
from leads import consent as service

router = APIRouter(prefix="/v1/consent", tags=["consent"])

PurposeKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,22}$")]
VisitorId = Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Source = Annotated[str, Field(pattern=r"^(form|banner|api)$")]


class PurposeOut(Out):
    key: str
    name: str
    required: bool
    on_form: bool
    version: int
    text: str
    sha256: str


class PurposeIn(In):
    key: PurposeKey
    name: Name
    text: LongText = Field(min_length=1)
    required: bool = False
    on_form: bool = True


class TextIn(In):
    text: LongText = Field(min_length=1)


class ConsentIn(In):
    purpose: PurposeKey
    granted: bool = True
    source: Source = "api"
    lead_id: Id | None = None
    visitor_id: VisitorId | None = None
    text_version: int | None = Field(None, ge=1)


class WithdrawIn(In):
    purpose: PurposeKey
    source: Source = "api"
    lead_id: Id | None = None
    visitor_id: VisitorId | None = None


class RecordOut(Out):
    id: str
    lead_id: str | None
    visitor_id: str | None
    purpose: str
    text_version: int
    granted: bool
    source: str
    proof: str
    created_at: dt.datetime


@router.get("/purposes", response_model=list[PurposeOut])
def list_purposes(ctx: PermRead) -> list[service.Purpose]:
    """The organization's consent purposes with their current texts."""
    return service.purposes(ctx.db.session, ctx.org_id)


@router.post("/purposes", response_model=PurposeOut, status_code=201)
def create_purpose(body: PurposeIn, ctx: PermTeam) -> service.Purpose:
    """A new purpose with its first text version."""
    purpose = service.create_purpose(ctx.db.session, ctx.org_id, ctx.actor, **body.model_dump())
    ctx.db.commit()
    return purpose


@router.post("/purposes/{purpose_key}/texts", response_model=PurposeOut, status_code=201)
def add_text(purpose_key: PurposeKey, body: TextIn, ctx: PermTeam) -> service.Purpose:
    """A new wording of a purpose (the next version; earlier records keep theirs)."""
    purpose = service.add_text_version(ctx.db.session, ctx.org_id, ctx.actor, purpose_key,
                                       body.text)
    ctx.db.commit()
    return purpose


@router.post("/records", response_model=RecordOut, status_code=201)
def record_consent(body: ConsentIn, ctx: PermEvents) -> object:
    """Record a grant (or a withdrawal) for a lead or a visitor; history is append-only."""
    rec = service.give(ctx.db.session, ctx.org_id, ctx.actor, **body.model_dump())
    ctx.db.commit()
    return rec


@router.post("/withdraw", response_model=list[RecordOut], status_code=201)
def withdraw(body: WithdrawIn, ctx: PermEvents) -> object:
    """Withdraw a purpose for the person (every lead with the lead's email); campaign mail
    already queued for them is held back from the next send on."""
    recs = service.withdraw(ctx.db.session, ctx.org_id, ctx.actor, **body.model_dump())
    ctx.db.commit()
    return recs


@router.get("/records", response_model=list[RecordOut])
def consent_history(ctx: PermExport, lead_id: Id | None = Query(None),
                    visitor_id: VisitorId | None = Query(None)) -> object:
    """A person's consent history, oldest first (by lead: all leads with its email)."""
    return service.history(ctx.db.session, ctx.org_id, lead_id=lead_id, visitor_id=visitor_id)
