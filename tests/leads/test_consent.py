"""Consent per purpose: default purposes, versioned texts, append-only history with proof,
the API's permissions, and a withdrawal that stops a scheduled campaign mail at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.errors import ConflictError, NotFoundError
from kernel.metadata.audit import Actor
from kernel.metadata.enums import MagnetStatus, MagnetType
from kernel.metadata.models import ConsentRecord, LeadMagnet, MailMessage, Organization
from kernel.metadata.types import utcnow
from leads import consent
from leads.service import create_lead
from publishing.campaigns import queue_due_campaigns, schedule_campaign
from publishing.mail.sender import FolderTransport
from publishing.mail.worker import send_due
from tests.helpers import make_settings

ACTOR = Actor.system("test")
TEXT = consent.DEFAULTS[0]["text"]


def _world(s: Session) -> tuple[str, str]:
    org = Organization(name="Acme", slug="acme")
    s.add(org)
    s.flush()
    magnet = LeadMagnet(org_id=org.id, name="M", slug="m", type=MagnetType("checklist"),
                        status=MagnetStatus.PUBLISHED, content={"title": "T"})
    s.add(magnet)
    s.flush()
    return org.id, magnet.id


def test_purposes_versions_and_history(domain_session: Session) -> None:
    s = domain_session
    org_id, magnet_id = _world(s)
    keys = [p.key for p in consent.purposes(s, org_id)]
    assert keys == ["marketing_email", "product_updates", "analytics", "partner_sharing"]
    assert [c["purpose"] for c in consent.form_consents(s, org_id)] == ["marketing_email"]
    lead = create_lead(s, org_id, ACTOR, magnet_id=magnet_id, email="a@example.com",
                       consent_source="form",
                       consents=[{"purpose": "marketing_email", "granted": True, "text": TEXT,
                                  "version": "1"}])
    [given] = consent.history(s, org_id, lead_id=lead.id)
    assert (given.granted, given.source, given.text_version) == (True, "form", 1)
    assert given.proof == consent.proof_of(TEXT) == consent.purposes(s, org_id)[0].sha256
    updated = consent.add_text_version(s, org_id, ACTOR, "marketing_email", "Mail me, v2.")
    assert (updated.version, updated.text) == (2, "Mail me, v2.")
    webinar = consent.create_purpose(s, org_id, ACTOR, key="webinar_invites", name="Webinars",
                                     text="Invite me to webinars.")
    assert webinar.version == 1 and len(consent.purposes(s, org_id)) == 5
    with pytest.raises(ConflictError):
        consent.create_purpose(s, org_id, ACTOR, key="webinar_invites", name="W", text="x")
    assert consent.granted(s, lead, "marketing_email")
    # the same person on another magnet: a withdrawal covers both leads
    other = create_lead(s, org_id, ACTOR, magnet_id=_world_magnet(s, org_id), email="A@example.com")
    consent.withdraw(s, org_id, ACTOR, purpose="marketing_email", source="api", lead_id=other.id)
    assert not consent.granted(s, lead, "marketing_email")
    again = consent.give(s, org_id, ACTOR, purpose="marketing_email", granted=True,
                         source="banner", lead_id=lead.id)
    assert again.text_version == 2 and again.proof == consent.proof_of("Mail me, v2.")
    assert consent.granted(s, lead, "marketing_email")
    assert [r.granted for r in consent.history(s, org_id, lead_id=lead.id)] == \
        [True, False, False, True]  # append-only: nothing rewritten
    with pytest.raises(NotFoundError):
        consent.give(s, org_id, ACTOR, purpose="marketing_email", granted=True, source="api",
                     lead_id="lead_of_someone_else")
    visitor = consent.give(s, org_id, ACTOR, purpose="analytics", granted=True,
                           source="banner", visitor_id="v123")
    assert consent.history(s, org_id, visitor_id="v123") == [visitor]


def _world_magnet(s: Session, org_id: str) -> str:
    magnet = LeadMagnet(org_id=org_id, name="N", slug="n", type=MagnetType("checklist"),
                        status=MagnetStatus.PUBLISHED)
    s.add(magnet)
    s.flush()
    return magnet.id


def test_withdrawal_stops_a_scheduled_send_at_once(tmp_path: Path) -> None:
    from kernel.metadata.db import make_engine, make_session_factory, migrate

    settings = make_settings(tmp_path / "data", public_url="https://go.acme.example")
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    migrate(engine)
    sessions = make_session_factory(engine, settings)
    grant = [{"purpose": "marketing_email", "granted": True, "text": TEXT, "version": "1"}]
    now = utcnow()
    with sessions() as s:
        org_id, magnet_id = _world(s)
        for who in ("keep", "leave", "never"):
            create_lead(s, org_id, ACTOR, magnet_id=magnet_id, email=f"{who}@example.com",
                        consents=grant if who != "never" else [], confirmed_at=now)
        schedule_campaign(s, org_id, ACTOR, magnet_id=magnet_id, name="Launch",
                          subject="New", scheduled_at=now)
        s.commit()
    assert queue_due_campaigns(sessions, settings, now) == 2  # "never" gave no consent
    with sessions() as s:  # withdrawn after queuing, before the send
        leave = next(m for m in s.scalars(sa.select(MailMessage))
                     if m.to_addr == "leave@example.com")
        consent.withdraw(s, org_id, ACTOR, purpose="marketing_email", source="api",
                         lead_id=leave.lead_id)
        s.commit()
    result = send_due(sessions, FolderTransport(tmp_path / "mail"), "a@acme.example",
                      now=now + dt.timedelta(seconds=1))
    assert (result.sent, result.suppressed) == (1, 1)
    sent = b"".join(p.read_bytes() for p in (tmp_path / "mail").rglob("*.eml"))
    assert b"keep@example.com" in sent and b"leave@example.com" not in sent
    with sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == 3
    engine.dispose()
