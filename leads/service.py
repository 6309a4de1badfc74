"""Lead creation, erasure and export records, shared by the API, landing pages and jobs.

Each function works in the caller's session and writes the audit entry (and for a new lead
the ``lead.created`` event) there; the caller's commit makes them visible together.
Audit entries never hold the lead's personal data.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel import crypto
from kernel.errors import ConflictError, NotFoundError
from kernel.metadata.audit import Actor, record
from kernel.metadata.models import Lead, LeadMagnet
from kernel.metadata.outbox import enqueue
from kernel.metadata.types import utcnow
from leads.consent import record_consent


def lead_summary(lead: Lead) -> dict[str, Any]:
    """The lead as it appears in webhook payloads."""
    return {"id": lead.id, "magnet_id": lead.magnet_id, "variant": lead.variant,
            "email": lead.email, "name": lead.name, "consent": lead.consent,
            "fields": lead.fields, "utm": lead.utm, "consents": lead.consents or [],
            "created_at": lead.created_at.isoformat() if lead.created_at else None,
            "confirmed_at": lead.confirmed_at.isoformat() if lead.confirmed_at else None}


def email_index(session: Session, org_id: str, email: str) -> str | None:
    """The blind index of ``email`` in ``org_id`` (HMAC under the organization's key), or
    None when the organization has no data key yet (so no lead at all)."""
    return crypto.email_index(session, org_id, email)


def find_lead_ids_by_email(session: Session, org_id: str, email: str) -> list[str]:
    """Ids of ``org_id``'s leads with this email (any magnet), oldest first; the lookup
    goes through the blind index, the email itself is never in a query."""
    index = email_index(session, org_id, email)
    if index is None:
        return []
    return list(session.scalars(sa.select(Lead.id).where(
        Lead.org_id == org_id, Lead.email_index == index).order_by(Lead.created_at, Lead.id)))


def find_lead(session: Session, org_id: str, email: str, *, magnet_id: str) -> Lead | None:
    """The lead of this email on ``magnet_id`` (at most one: the blind index is unique)."""
    index = email_index(session, org_id, email)
    if index is None:
        return None
    return session.scalar(sa.select(Lead).where(Lead.org_id == org_id,
                                                Lead.magnet_id == magnet_id,
                                                Lead.email_index == index))


def create_lead(session: Session, org_id: str, actor: Actor, *, magnet_id: str, email: str,
                consent_source: str = "api", **values: Any) -> Lead:
    """A new lead of ``org_id`` on ``magnet_id`` (emits ``lead.created``).

    Args:
        values: other Lead columns (name, variant, fields, visitor_id, consent, consents,
            utm, confirmed_at). A lead created with ``confirmed_at`` set (single opt-in,
            or confirmed elsewhere) is created confirmed; otherwise it is pending until
            :func:`confirm_lead`.

    Raises:
        NotFoundError: the magnet is not one of the organization's.
        ConflictError: this email already opted in to this magnet.
    """
    magnet = session.scalar(sa.select(LeadMagnet).where(LeadMagnet.id == magnet_id,
                                                        LeadMagnet.org_id == org_id))
    if magnet is None:
        raise NotFoundError("magnet", magnet_id)
    dup = find_lead(session, org_id, email, magnet_id=magnet_id)
    if dup is not None:
        raise ConflictError(f"{email} already opted in to this magnet (lead {dup.id})")
    lead = Lead(org_id=org_id, magnet_id=magnet_id, email=email, **values)
    session.add(lead)
    session.flush()
    for given in values.get("consents") or []:  # the append-only consent history
        version = str(given.get("version") or "1")
        record_consent(session, org_id, purpose=str(given["purpose"]),
                       granted=bool(given.get("granted")), source=consent_source,
                       lead_id=lead.id, text=str(given.get("text") or ""),
                       text_version=int(version) if version.isdigit() else 1)
    record(session, org_id=org_id, actor=actor, action="lead.created", resource_type="lead",
           resource_id=lead.id, after={"id": lead.id, "magnet_id": lead.magnet_id})
    enqueue(session, org_id, "lead.created", {"lead": lead_summary(lead)})
    return lead


def confirm_lead(session: Session, lead: Lead, actor: Actor) -> bool:
    """Mark ``lead`` confirmed (double opt-in) and emit ``lead.confirmed``; False (and no
    event) when it already was, so a second click on the same link changes nothing."""
    if lead.confirmed_at is not None:
        return False
    lead.confirmed_at = utcnow()
    session.flush()
    record(session, org_id=lead.org_id, actor=actor, action="lead.confirmed",
           resource_type="lead", resource_id=lead.id,
           after={"id": lead.id, "magnet_id": lead.magnet_id})
    enqueue(session, lead.org_id, "lead.confirmed", {"lead": lead_summary(lead)})
    return True


def erase_lead(session: Session, lead: Lead, actor: Actor) -> None:
    """Delete ``lead`` (right to erasure); the audit entry keeps no personal data."""
    lead_id = lead.id
    kept = {"id": lead_id, "magnet_id": lead.magnet_id, "created_at": lead.created_at}
    session.delete(lead)
    session.flush()
    record(session, org_id=lead.org_id, actor=actor, action="lead.deleted",
           resource_type="lead", resource_id=lead_id, before=kept)


def record_export(session: Session, org_id: str, actor: Actor, fmt: str,
                  filters: dict[str, Any]) -> None:
    """Audit an export of leads (who, when, which filters; never the rows)."""
    record(session, org_id=org_id, actor=actor, action="leads.exported", resource_type="lead",
           resource_id=None, after={"format": fmt, "filters": filters})
