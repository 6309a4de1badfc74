"""Consent per purpose: purposes with versioned texts, and an append-only record of grants
and withdrawals (who, which purpose, which text version, when, where, proof).

The consent in force for a person and a purpose is the newest record among all their leads
(the same email, through the blind index) or their visitor id. Campaign mail reads it when
it is queued and again right before each send, so a withdrawal stops a scheduled send at
once. Leads recorded before consent records existed fall back to the per-lead ``consents``
list they were created with.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.errors import ConflictError, DomainError, NotFoundError
from kernel.metadata.audit import Actor, record
from kernel.metadata.models import ConsentPurpose, ConsentRecord, ConsentText, Lead
from kernel.metadata.signals import CommitSignal

SOURCES = frozenset({"form", "banner", "api"})
#: The purpose the collector and the landing pages read in ``consent_required`` mode.
PURPOSE_ANALYTICS = "analytics"
#: Fired after a commit that appended a consent record in this process (the collector's
#: ``ingestion.consent.ConsentState`` reads the new ones at once).
RECORDED = CommitSignal("consent records")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,22}$")
#: Seeded for every organization the first time its purposes are changed or recorded.
DEFAULTS: tuple[dict[str, Any], ...] = (
    {"key": "marketing_email", "name": "Marketing email", "on_form": True,
     "text": "Send me occasional emails with new resources. I can unsubscribe at any time."},
    {"key": "product_updates", "name": "Product updates", "on_form": False,
     "text": "Email me about changes to products I use."},
    {"key": "analytics", "name": "Analytics", "on_form": False,
     "text": "Measure my visits with an identifier so the site can be improved."},
    {"key": "partner_sharing", "name": "Partner sharing", "on_form": False,
     "text": "Share my contact details with the partners named in the privacy notice."},
)


class ConsentError(DomainError):
    code = "invalid"


def proof_of(text: str) -> str:
    """SHA-256 of the exact text shown (the proof kept with each record)."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Purpose:
    key: str
    name: str
    required: bool
    on_form: bool
    version: int
    text: str
    sha256: str


def _texts(session: Session, org_id: str) -> dict[str, ConsentText]:
    rows = session.execute(
        sa.select(ConsentPurpose.id, ConsentText)
        .join(ConsentText, sa.and_(ConsentText.purpose_id == ConsentPurpose.id,
                                   ConsentText.version == ConsentPurpose.current_version))
        .where(ConsentPurpose.org_id == org_id, ConsentText.org_id == org_id)).all()
    return {pid: text for pid, text in rows}


def purposes(session: Session, org_id: str) -> list[Purpose]:
    """The organization's purposes with their current texts (the defaults until it has any)."""
    rows = session.scalars(sa.select(ConsentPurpose).where(ConsentPurpose.org_id == org_id)
                           .order_by(ConsentPurpose.created_at, ConsentPurpose.key)).all()
    if not rows:
        return [Purpose(d["key"], d["name"], False, d["on_form"], 1, d["text"],
                        proof_of(d["text"])) for d in DEFAULTS]
    texts = _texts(session, org_id)
    return [Purpose(p.key, p.name, p.required, p.on_form, p.current_version,
                    texts[p.id].text, texts[p.id].sha256) for p in rows if p.id in texts]


def form_consents(session: Session, org_id: str) -> list[dict[str, Any]]:
    """The checkboxes of the opt-in form (publishing.landing's ``consents`` shape)."""
    return [{"purpose": p.key, "text": p.text, "version": str(p.version),
             "required": p.required} for p in purposes(session, org_id) if p.on_form]


def _seed(session: Session, org_id: str) -> None:
    if session.scalar(sa.select(ConsentPurpose.id).where(ConsentPurpose.org_id == org_id)
                      .limit(1)) is not None:
        return
    for d in DEFAULTS:
        _add_purpose(session, org_id, d["key"], d["name"], d["text"], False, d["on_form"])


def _add_purpose(session: Session, org_id: str, key: str, name: str, text: str,
                 required: bool, on_form: bool) -> ConsentPurpose:
    purpose = ConsentPurpose(org_id=org_id, key=key, name=name, required=required,
                             on_form=on_form, current_version=1)
    session.add(purpose)
    session.flush()
    session.add(ConsentText(org_id=org_id, purpose_id=purpose.id, version=1, text=text,
                            sha256=proof_of(text)))
    session.flush()
    return purpose


def _purpose_row(session: Session, org_id: str, key: str) -> ConsentPurpose:
    _seed(session, org_id)
    row = session.scalar(sa.select(ConsentPurpose).where(ConsentPurpose.org_id == org_id,
                                                         ConsentPurpose.key == key))
    if row is None:
        raise NotFoundError("consent purpose", key)
    return row


def create_purpose(session: Session, org_id: str, actor: Actor, *, key: str, name: str,
                   text: str, required: bool = False, on_form: bool = True) -> Purpose:
    """A new purpose with its first text (version 1), audited.

    Raises:
        ConsentError: a key that is not lower_snake_case of at most 23 characters.
        ConflictError: the organization already has this purpose.
    """
    if not KEY.match(key):
        raise ConsentError("a purpose key is lower_snake_case, at most 23 characters, e.g. "
                           "webinar_invites", [{"field": "key"}])
    _seed(session, org_id)
    if session.scalar(sa.select(ConsentPurpose.id).where(ConsentPurpose.org_id == org_id,
                                                         ConsentPurpose.key == key)):
        raise ConflictError(f"purpose {key} exists; add a text version to change its wording")
    _add_purpose(session, org_id, key, name, text, required, on_form)
    record(session, org_id=org_id, actor=actor, action="consent_purpose.created",
           resource_type="consent_purpose", resource_id=key, after={"key": key, "name": name})
    return next(p for p in purposes(session, org_id) if p.key == key)


def add_text_version(session: Session, org_id: str, actor: Actor, key: str,
                     text: str) -> Purpose:
    """A new wording of purpose ``key`` (the next version, shown from now on); older
    versions stay, since records point to the version they were given for."""
    purpose = _purpose_row(session, org_id, key)
    version = purpose.current_version + 1
    session.add(ConsentText(org_id=org_id, purpose_id=purpose.id, version=version, text=text,
                            sha256=proof_of(text)))
    purpose.current_version = version
    session.flush()
    record(session, org_id=org_id, actor=actor, action="consent_purpose.text_added",
           resource_type="consent_purpose", resource_id=key, after={"version": version})
    return next(p for p in purposes(session, org_id) if p.key == key)


def record_consent(session: Session, org_id: str, *, purpose: str, granted: bool, source: str,
                   lead_id: str | None = None, visitor_id: str | None = None,
                   text: str | None = None, text_version: int | None = None) -> ConsentRecord:
    """Append a grant or a withdrawal. ``text`` is the wording shown (its hash is the proof);
    without it, the purpose's text of ``text_version`` (default: the current one).

    Raises:
        ConsentError: no person named, an unknown source or text version.
        NotFoundError: the lead or the purpose is not the organization's.
    """
    if source not in SOURCES:
        raise ConsentError(f"source must be one of {', '.join(sorted(SOURCES))}",
                           [{"field": "source"}])
    if not lead_id and not visitor_id:
        raise ConsentError("name the person: a lead_id or a visitor_id", [{"field": "lead_id"}])
    if lead_id and session.scalar(sa.select(Lead.id).where(Lead.org_id == org_id,
                                                           Lead.id == lead_id)) is None:
        raise NotFoundError("lead", lead_id)
    if text is None:
        row = _purpose_row(session, org_id, purpose)
        version = text_version or row.current_version
        shown = session.scalar(sa.select(ConsentText).where(
            ConsentText.org_id == org_id, ConsentText.purpose_id == row.id,
            ConsentText.version == version))
        if shown is None:
            raise ConsentError(f"purpose {purpose} has no text version {version}",
                               [{"field": "text_version"}])
        proof = shown.sha256
    else:
        version, proof = text_version or 1, proof_of(text)
    rec = ConsentRecord(org_id=org_id, lead_id=lead_id, visitor_id=visitor_id, purpose=purpose,
                        text_version=version, granted=granted, source=source, proof=proof)
    session.add(rec)
    session.flush()
    RECORDED.mark(session)
    return rec


def give(session: Session, org_id: str, actor: Actor, *, purpose: str, granted: bool,
         source: str, lead_id: str | None = None, visitor_id: str | None = None,
         text_version: int | None = None) -> ConsentRecord:
    """:func:`record_consent` with the purpose's stored text, audited (no personal data)."""
    rec = record_consent(session, org_id, purpose=purpose, granted=granted, source=source,
                         lead_id=lead_id, visitor_id=visitor_id, text_version=text_version)
    record(session, org_id=org_id, actor=actor,
           action="consent.granted" if granted else "consent.withdrawn",
           resource_type="consent_record", resource_id=rec.id,
           after={"purpose": purpose, "version": rec.text_version, "source": source})
    return rec


def _person_leads(session: Session, org_id: str, lead_id: str) -> list[str]:
    index = session.scalar(sa.select(Lead.email_index).where(Lead.org_id == org_id,
                                                             Lead.id == lead_id))
    if index is None:
        return []
    return list(session.scalars(sa.select(Lead.id).where(Lead.org_id == org_id,
                                                         Lead.email_index == index)))


def withdraw(session: Session, org_id: str, actor: Actor, *, purpose: str, source: str,
             lead_id: str | None = None, visitor_id: str | None = None) -> list[ConsentRecord]:
    """Withdraw ``purpose`` for the person: every lead with the lead's email (or the visitor
    id), in force at once (audited without personal data)."""
    lead_ids = _person_leads(session, org_id, lead_id) if lead_id else []
    if lead_id and not lead_ids:
        raise NotFoundError("lead", lead_id)
    recs = [record_consent(session, org_id, purpose=purpose, granted=False, source=source,
                           lead_id=one) for one in lead_ids]
    if visitor_id:
        recs.append(record_consent(session, org_id, purpose=purpose, granted=False,
                                   source=source, visitor_id=visitor_id))
    record(session, org_id=org_id, actor=actor, action="consent.withdrawn",
           resource_type="lead" if lead_id else "visitor", resource_id=lead_id,
           after={"purpose": purpose, "records": len(recs)})
    return recs


def history(session: Session, org_id: str, *, lead_id: str | None = None,
            visitor_id: str | None = None) -> list[ConsentRecord]:
    """Every record of the person (all leads with the lead's email), oldest first."""
    stmt = sa.select(ConsentRecord).where(ConsentRecord.org_id == org_id)
    if lead_id:
        stmt = stmt.where(ConsentRecord.lead_id.in_(_person_leads(session, org_id, lead_id)))
    elif visitor_id:
        stmt = stmt.where(ConsentRecord.visitor_id == visitor_id)
    else:
        raise ConsentError("name the person: a lead_id or a visitor_id", [{"field": "lead_id"}])
    return list(session.scalars(stmt.order_by(ConsentRecord.created_at, ConsentRecord.id)))


def granted(session: Session, lead: Lead, purpose: str) -> bool:
    """Whether the person behind ``lead`` has ``purpose`` granted now (newest record wins)."""
    newest = session.scalar(
        sa.select(ConsentRecord.granted)
        .where(ConsentRecord.org_id == lead.org_id, ConsentRecord.purpose == purpose,
               ConsentRecord.lead_id.in_(_person_leads(session, lead.org_id, lead.id)))
        .order_by(ConsentRecord.created_at.desc(), ConsentRecord.id.desc()).limit(1))
    if newest is not None:
        return bool(newest)
    return any(isinstance(c, dict) and c.get("purpose") == purpose and c.get("granted")
               for c in lead.consents or [])
