"""experiments/lifecycle.py: legal transitions only, audit with before/after, outbox event,
all inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiments import lifecycle
from kernel.metadata.audit import Actor
from kernel.metadata.db import make_engine, make_session_factory
from kernel.metadata.enums import ActorType, ExperimentStatus
from kernel.metadata.models import AuditLog, Experiment, Organization, OutboxEvent

S = ExperimentStatus
SENSOR = Actor.system("sensor")
PERSON = Actor("usr_1", ActorType.USER, "iphash")
NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def session(metadata_url: str) -> Iterator[Session]:
    engine = make_engine(metadata_url)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


def _experiment(session: Session, status: S = S.DRAFT, **extra: object) -> Experiment:
    org = Organization(name="Lab", slug=f"lab-{secrets.token_hex(6)}")
    session.add(org)
    session.flush()
    values: dict[str, object] = {
        "variants": [{"key": "A", "weight": 0.5}, {"key": "B", "weight": 0.5}], **extra}
    exp = Experiment(org_id=org.id, key="k", name="N", status=status, **values)
    session.add(exp)
    session.flush()
    return exp


ACTIONS = {
    "start": lambda s, e: lifecycle.start(s, e, PERSON, now=NOW),
    "stop": lambda s, e: lifecycle.stop(s, e, PERSON, now=NOW),
    "promote": lambda s, e: lifecycle.promote(s, e, "B", SENSOR, {"p": 0.01}, now=NOW),
    "override_winner": lambda s, e: lifecycle.override_winner(s, e, "A", PERSON, {}, now=NOW),
    "rollback": lambda s, e: lifecycle.rollback(s, e, PERSON, now=NOW),
}


@pytest.mark.parametrize("status", list(S))
def test_every_action_from_every_status(session: Session, status: S) -> None:
    for action, run in ACTIONS.items():
        exp = _experiment(session, status, winner="B" if status == S.PROMOTED else None)
        legal = status in lifecycle.ALLOWED_FROM[action]
        if legal:
            run(session, exp)
        else:
            with pytest.raises(lifecycle.LifecycleError) as info:
                run(session, exp)
            assert info.value.action == action and info.value.status == status.value
            assert status.value in str(info.value)
            assert info.value.allowed_from == sorted(s.value for s in
                                                     lifecycle.ALLOWED_FROM[action])
    session.rollback()


def test_promote_writes_status_audit_and_event_in_the_callers_transaction(
        session: Session) -> None:
    exp = _experiment(session, S.RUNNING, started_at=NOW - dt.timedelta(days=3))
    lifecycle.promote(session, exp, "B", SENSOR, {"srm_p": 0.4, "lift": 0.12}, now=NOW)
    assert (exp.status, exp.winner, exp.stopped_at) == (S.PROMOTED, "B", NOW)
    assert exp.decision == {"promote": True, "winner": "B", "override": False,
                            "srm_p": 0.4, "lift": 0.12}
    audit = session.scalars(sa.select(AuditLog).where(AuditLog.resource_id == exp.id)).one()
    assert (audit.actor, audit.actor_type, audit.action) == ("sensor", "system",
                                                             "experiment.promoted")
    assert audit.before is not None and audit.after is not None
    assert audit.before["status"] == "running" and audit.after["status"] == "promoted"
    assert audit.before["winner"] is None and audit.after["winner"] == "B"
    event = session.scalars(sa.select(OutboxEvent).where(OutboxEvent.org_id == exp.org_id)).one()
    assert event.event_type == "experiment.promoted"
    assert event.payload["experiment"]["winner"] == "B" and event.payload["reason"]["lift"] == 0.12
    # Nothing was committed: the caller's rollback takes everything back.
    org_id = exp.org_id
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent).where(
        OutboxEvent.org_id == org_id)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.org_id == org_id)) == 0


def test_start_validates_variants_and_winner_must_exist(session: Session) -> None:
    exp = _experiment(session, variants=[{"key": "A", "weight": 1.0}])
    with pytest.raises(lifecycle.LifecycleError, match="at least two variants"):
        lifecycle.start(session, exp, PERSON)
    exp = _experiment(session, S.RUNNING)
    with pytest.raises(lifecycle.LifecycleError, match="'C' is not one of its variants"):
        lifecycle.promote(session, exp, "C", SENSOR, {})
    exp = _experiment(session, S.PROMOTED, winner="A")
    with pytest.raises(lifecycle.LifecycleError, match="already serves"):
        lifecycle.override_winner(session, exp, "A", PERSON, {})
    session.rollback()


def test_full_path_and_events(session: Session) -> None:
    exp = _experiment(session)
    lifecycle.start(session, exp, PERSON, now=NOW)
    lifecycle.stop(session, exp, PERSON, now=NOW + dt.timedelta(days=7))
    lifecycle.promote(session, exp, "A", SENSOR, {})
    lifecycle.override_winner(session, exp, "B", PERSON, {"note": "brand"})
    lifecycle.rollback(session, exp, PERSON, reason={"note": "guardrail"})
    events = session.scalars(sa.select(OutboxEvent.event_type).where(
        OutboxEvent.org_id == exp.org_id).order_by(OutboxEvent.created_at)).all()
    assert events == ["experiment.started", "experiment.stopped", "experiment.promoted",
                      "experiment.promoted", "experiment.rolled_back"]
    assert exp.status == S.ROLLED_BACK and exp.winner is None
    assert exp.started_at == NOW and exp.stopped_at == NOW + dt.timedelta(days=7)
    session.commit()
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.start(session, exp, PERSON)
