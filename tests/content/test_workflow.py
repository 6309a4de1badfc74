"""content/workflow.py and content/magnets.py without HTTP: legal moves only, the frozen
fields, audit entries and webhook events in the caller's transaction."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from content import magnets, workflow
from kernel.errors import ConflictError, NotFoundError, TransitionError
from kernel.metadata.audit import Actor
from kernel.metadata.enums import ActorType, MagnetStatus, MagnetType
from kernel.metadata.models import AuditLog, LeadMagnet, Organization, OutboxEvent

S = MagnetStatus
EDITOR = Actor("usr_editor", ActorType.USER, None)


def _org(session: Session) -> Organization:
    org = Organization(name="Pub", slug=f"pub-{secrets.token_hex(4)}")
    session.add(org)
    session.flush()
    return org


def _magnet(session: Session, org: Organization, slug: str = "guide") -> LeadMagnet:
    return magnets.create_magnet(session, org.id, EDITOR, {
        "name": "Guide", "slug": slug, "type": MagnetType.EBOOK, "content": {"title": "G"}})


def test_the_review_path_audits_each_step_and_emits_events(domain_session: Session) -> None:
    org = _org(domain_session)
    magnet = _magnet(domain_session, org)
    for action in ("submit", "approve", "publish"):
        workflow.transition(domain_session, magnet, action, EDITOR, note=f"{action} note")
    domain_session.commit()
    assert magnet.status == S.PUBLISHED and magnet.published_at is not None
    actions = domain_session.scalars(sa.select(AuditLog.action).where(
        AuditLog.resource_id == magnet.id).order_by(AuditLog.created_at)).all()
    assert actions == ["magnet.created", "magnet.submit", "magnet.approve", "magnet.publish"]
    events = domain_session.scalars(sa.select(OutboxEvent.event_type).where(
        OutboxEvent.org_id == org.id)).all()
    assert sorted(events) == ["magnet.approved", "magnet.published"]


@pytest.mark.parametrize("status", list(S))
def test_every_action_from_every_status(domain_session: Session, status: S) -> None:
    org = _org(domain_session)
    for action, (allowed, target, _event) in workflow.TRANSITIONS.items():
        magnet = _magnet(domain_session, org, slug=f"m-{secrets.token_hex(3)}")
        magnet.status = status
        domain_session.flush()
        if status in allowed:
            assert workflow.transition(domain_session, magnet, action, EDITOR).status == target
        else:
            with pytest.raises(TransitionError) as err:
                workflow.transition(domain_session, magnet, action, EDITOR)
            assert err.value.details[0]["allowed_from"] == sorted(s.value for s in allowed)
            assert magnet.status == status  # unchanged


def test_rejected_changes_leave_nothing_behind(domain_session: Session) -> None:
    org = _org(domain_session)
    magnet = _magnet(domain_session, org)
    domain_session.commit()
    with pytest.raises(ConflictError, match="already used"):
        _magnet(domain_session, org)  # same slug
    domain_session.rollback()
    with pytest.raises(NotFoundError):
        magnets.update_magnet(domain_session, magnet, EDITOR, {"site_id": "site_nope"})
    domain_session.rollback()
    workflow.transition(domain_session, magnet, "submit", EDITOR)
    with pytest.raises(ConflictError, match="slug, content of a in_review magnet"):
        magnets.update_magnet(domain_session, magnet, EDITOR,
                              {"slug": "new", "content": {"title": "X"}, "name": None})
    magnets.update_magnet(domain_session, magnet, EDITOR, {"name": "Renamed", "slug": None})
    assert magnet.name == "Renamed" and magnet.slug == "guide"
