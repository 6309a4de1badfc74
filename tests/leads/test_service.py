"""leads/service.py without HTTP: a lead, its audit entry (no personal data) and its
lead.created event in one transaction; duplicates and foreign magnets refused."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.errors import ConflictError, NotFoundError
from kernel.metadata.audit import Actor
from kernel.metadata.enums import MagnetType
from kernel.metadata.models import AuditLog, Lead, LeadMagnet, Organization, OutboxEvent
from leads import service

API = Actor.system("test")


def _magnet(session: Session) -> LeadMagnet:
    org = Organization(name="Org", slug=f"org-{secrets.token_hex(4)}")
    session.add(org)
    session.flush()
    magnet = LeadMagnet(org_id=org.id, name="Kit", slug="kit", type=MagnetType.CHECKLIST)
    session.add(magnet)
    session.flush()
    return magnet


def test_create_erase_and_export_are_audited_without_personal_data(
        domain_session: Session) -> None:
    magnet = _magnet(domain_session)
    lead = service.create_lead(domain_session, magnet.org_id, API, magnet_id=magnet.id,
                               email=" Ada@Example.COM ", name="Ada", consent=True)
    domain_session.commit()
    assert lead.email == "ada@example.com"
    event = domain_session.scalar(sa.select(OutboxEvent).where(OutboxEvent.org_id == magnet.org_id))
    assert event is not None and event.event_type == "lead.created"
    assert event.payload["lead"]["email"] == "ada@example.com"
    service.record_export(domain_session, magnet.org_id, API, "csv", {"magnet_id": magnet.id})
    service.erase_lead(domain_session, lead, API)
    domain_session.commit()
    assert domain_session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0
    entries = domain_session.scalars(sa.select(AuditLog).where(
        AuditLog.org_id == magnet.org_id).order_by(AuditLog.created_at)).all()
    assert [e.action for e in entries] == ["lead.created", "leads.exported", "lead.deleted"]
    assert "ada" not in repr([(e.before, e.after) for e in entries]).lower()


def test_duplicates_and_other_organizations_magnets_are_refused(
        domain_session: Session) -> None:
    magnet, other = _magnet(domain_session), _magnet(domain_session)
    service.create_lead(domain_session, magnet.org_id, API, magnet_id=magnet.id, email="a@b.co")
    with pytest.raises(ConflictError, match="already opted in"):
        service.create_lead(domain_session, magnet.org_id, API, magnet_id=magnet.id,
                            email="A@B.co")
    with pytest.raises(NotFoundError, match="no magnet"):
        service.create_lead(domain_session, magnet.org_id, API, magnet_id=other.id,
                            email="a@b.co")
