"""Metadata store: unique constraints, foreign keys, cascades and the append-only audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.metadata import (
    ActorType,
    AdSpend,
    ApiKey,
    AuditLog,
    AuditLogImmutableError,
    Base,
    Experiment,
    Lead,
    LeadMagnet,
    MagnetType,
    MagnetVariant,
    Organization,
    OutboxEvent,
    Site,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)


@dataclass(frozen=True)
class Seed:
    """Ids of rows the constraint tests hang new rows on."""

    org: str
    other_org: str
    magnet: str
    endpoint: str
    event: str


@pytest.fixture
def seed(db_session: Session) -> Seed:
    org = Organization(name="Acme", slug="acme")
    other = Organization(name="Globex", slug="globex")
    db_session.add_all([org, other])
    db_session.flush()
    magnet = LeadMagnet(org_id=org.id, name="Guide", slug="guide", type=MagnetType.EBOOK)
    endpoint = WebhookEndpoint(org_id=org.id, url="https://hooks.test/a")
    event = OutboxEvent(org_id=org.id, event_type="lead.created")
    db_session.add_all([magnet, endpoint, event])
    db_session.commit()
    return Seed(org.id, other.id, magnet.id, endpoint.id, event.id)


UNIQUE_CASES: dict[str, Callable[[Seed], Base]] = {
    "organization slug": lambda s: Organization(name="Other", slug="dup-slug"),
    "user email per org": lambda s: User(org_id=s.org, email="same@example.com"),
    "api key prefix": lambda s: ApiKey(
        org_id=s.org, name="k", prefix="ls_live_00000000", secret_hash="0" * 64
    ),
    "site key": lambda s: Site(org_id=s.org, name="s", site_key="pub_fixed"),
    "magnet slug per org": lambda s: LeadMagnet(
        org_id=s.org, name="m", slug="same", type=MagnetType.TEMPLATE
    ),
    "variant key per magnet": lambda s: MagnetVariant(org_id=s.org, magnet_id=s.magnet, key="B"),
    "experiment key per org": lambda s: Experiment(org_id=s.org, key="exp-1", name="e"),
    "lead per org, magnet and email": lambda s: Lead(
        org_id=s.org, magnet_id=s.magnet, email="reader@example.com"
    ),
    "ad spend per org, date, channel, campaign": lambda s: AdSpend(
        org_id=s.org, date=dt.date(2024, 1, 1), channel="meta", campaign="spring", amount=1.0
    ),
    "delivery per endpoint, event, attempt": lambda s: WebhookDelivery(
        org_id=s.org, endpoint_id=s.endpoint, outbox_event_id=s.event, attempt=2
    ),
}


@pytest.mark.parametrize("case", list(UNIQUE_CASES))
def test_unique_constraint(db_session: Session, seed: Seed, case: str) -> None:
    make = UNIQUE_CASES[case]
    db_session.add(make(seed))
    db_session.commit()
    db_session.add(make(seed))
    with pytest.raises(IntegrityError):
        db_session.commit()


def test_emails_are_unique_case_insensitively(db_session: Session, seed: Seed) -> None:
    db_session.add(User(org_id=seed.org, email="Same@Example.com"))
    db_session.commit()
    db_session.add(User(org_id=seed.org, email=" same@EXAMPLE.com "))
    with pytest.raises(IntegrityError):
        db_session.commit()


def test_per_org_uniqueness_allows_the_same_value_in_another_org(
    db_session: Session, seed: Seed
) -> None:
    for org_id in (seed.org, seed.other_org):
        db_session.add(User(org_id=org_id, email="same@example.com"))
        db_session.add(LeadMagnet(org_id=org_id, name="m", slug="same", type=MagnetType.EBOOK))
        db_session.add(Experiment(org_id=org_id, key="same", name="e"))
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(User)) == 2


@pytest.mark.parametrize(
    "make",
    [
        lambda s: User(org_id="org_missing", email="a@b.c"),
        lambda s: Lead(org_id=s.org, magnet_id="mag_missing", email="a@b.c"),
        lambda s: WebhookDelivery(org_id=s.org, endpoint_id="whe_missing", outbox_event_id=s.event),
    ],
    ids=["org", "magnet", "endpoint"],
)
def test_foreign_keys_are_enforced(
    db_session: Session, seed: Seed, make: Callable[[Seed], Base]
) -> None:
    db_session.add(make(seed))
    with pytest.raises(IntegrityError):
        db_session.commit()


def test_check_constraints(db_session: Session, seed: Seed) -> None:
    db_session.add(Experiment(org_id=seed.org, key="x", name="x", coverage=1.5))
    with pytest.raises(IntegrityError):
        db_session.commit()
    db_session.rollback()
    with pytest.raises(IntegrityError):  # enum values are checked by the database too
        db_session.execute(
            sa.text(
                "INSERT INTO organizations (id, name, slug, settings, consent_mode) "
                "VALUES ('org_x', 'x', 'x', '{}', 'sometimes')"
            )
        )


def test_deleting_an_organization_removes_its_rows(db_session: Session, seed: Seed) -> None:
    db_session.add_all(
        [
            Lead(org_id=seed.org, magnet_id=seed.magnet, email="a@b.c"),
            MagnetVariant(org_id=seed.org, magnet_id=seed.magnet, key="A"),
            WebhookDelivery(org_id=seed.org, endpoint_id=seed.endpoint, outbox_event_id=seed.event),
            AuditLog(
                org_id=seed.org,
                actor="system",
                actor_type=ActorType.SYSTEM,
                action="org.created",
                resource_type="organization",
            ),
        ]
    )
    db_session.commit()
    db_session.execute(delete(Organization).where(Organization.id == seed.org))
    db_session.commit()
    for table in Base.metadata.sorted_tables:
        if "org_id" in table.c:
            remaining = db_session.scalar(
                select(func.count()).select_from(table).where(table.c.org_id == seed.org)
            )
            assert remaining == 0, table.name
    assert db_session.get(Organization, seed.other_org) is not None


def test_a_magnet_with_leads_cannot_be_deleted(db_session: Session, seed: Seed) -> None:
    db_session.add(Lead(org_id=seed.org, magnet_id=seed.magnet, email="a@b.c"))
    db_session.commit()
    with pytest.raises(IntegrityError):
        db_session.execute(delete(LeadMagnet).where(LeadMagnet.id == seed.magnet))


def test_audit_log_is_append_only(db_session: Session, seed: Seed) -> None:
    entry = AuditLog(
        org_id=seed.org,
        actor="system",
        actor_type=ActorType.SYSTEM,
        action="experiment.promoted",
        resource_type="experiment",
        resource_id="exp_1",
        before={"status": "running"},
        after={"status": "promoted"},
    )
    db_session.add(entry)
    db_session.commit()
    entry_id = entry.id

    entry.action = "experiment.rolled_back"
    with pytest.raises(AuditLogImmutableError) as raised:
        db_session.commit()
    assert raised.value.operation == "UPDATE" and raised.value.entry_id == entry_id
    db_session.rollback()

    db_session.delete(entry)
    with pytest.raises(AuditLogImmutableError):
        db_session.commit()
    db_session.rollback()

    with pytest.raises(AuditLogImmutableError):
        db_session.execute(update(AuditLog).values(action="tampered"))
    with pytest.raises(AuditLogImmutableError):
        db_session.execute(delete(AuditLog).where(AuditLog.id == entry_id))
    db_session.rollback()

    db_session.expire_all()
    stored = db_session.get_one(AuditLog, entry_id)
    assert stored.action == "experiment.promoted"
    assert stored.after == {"status": "promoted"}
    # Appending more entries is of course fine.
    db_session.add(
        AuditLog(
            org_id=seed.org,
            actor="system",
            actor_type=ActorType.SYSTEM,
            action="experiment.stopped",
            resource_type="experiment",
        )
    )
    db_session.commit()
