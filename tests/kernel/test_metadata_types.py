"""Metadata store: JSON round-trips, UTC-aware datetimes, SQLite engine settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from kernel.metadata import (
    RESPONSE_BODY_LIMIT,
    Experiment,
    LeadMagnet,
    MagnetType,
    NaiveDatetimeError,
    Organization,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
    make_engine,
    make_session_factory,
    migrate,
    utcnow,
)

PAYLOAD = {
    "text": 'Grüße, 你好, emoji 🎯, quote " and backslash \\',
    "int": 2**53,
    "float": 0.1,
    "negative": -3.5,
    "bool": True,
    "null": None,
    "empty": {},
    "list": [1, "two", None, False, [3.25], {"nested": {"deep": ["x"]}}],
}


def _org(session: Session) -> Organization:
    org = Organization(name="Acme", slug="acme", settings={"brand": {"color": "#123456"}})
    session.add(org)
    session.commit()
    return org


def test_json_round_trips(db_session: Session) -> None:
    org = _org(db_session)
    variants = [{"key": "A", "name": "Control", "weight": 0.5}, {"key": "B", "weight": 0.5}]
    db_session.add(OutboxEvent(org_id=org.id, event_type="lead.created", payload=PAYLOAD))
    db_session.add(Experiment(org_id=org.id, key="k", name="n", variants=variants, decision=None))
    db_session.commit()
    db_session.expunge_all()
    event = db_session.scalars(select(OutboxEvent)).one()
    assert event.payload == PAYLOAD
    experiment = db_session.scalars(select(Experiment)).one()
    assert experiment.variants == variants and experiment.guardrail_metrics == []
    assert experiment.decision is None  # SQL NULL, not JSON 'null'
    assert db_session.get_one(Organization, org.id).settings == {"brand": {"color": "#123456"}}


@pytest.mark.postgres
def test_json_is_jsonb_on_postgresql(postgres_metadata_url: str) -> None:
    engine = make_engine(postgres_metadata_url)
    try:
        migrate(engine)
        with make_session_factory(engine)() as session:
            org = _org(session)  # (webhook payloads are stored encrypted: a plain JSON column)
            org.settings = {"a": {"b": 1}}
            session.commit()
            kind, value = session.execute(
                sa.text("SELECT pg_typeof(settings)::text, settings -> 'a' ->> 'b' "
                        "FROM organizations WHERE id = :id"), {"id": org.id}
            ).one()
        assert (kind, value) == ("jsonb", "1")
    finally:
        engine.dispose()


def test_datetimes_come_back_aware_utc(db_session: Session) -> None:
    org = _org(db_session)
    assert org.created_at.utcoffset() == dt.timedelta(0)
    plus_two = dt.timezone(dt.timedelta(hours=2))
    magnet = LeadMagnet(
        org_id=org.id,
        name="Guide",
        slug="guide",
        type=MagnetType.EBOOK,
        published_at=dt.datetime(2024, 5, 1, 12, 0, 30, 123456, tzinfo=plus_two),
    )
    db_session.add(magnet)
    db_session.commit()
    db_session.expunge_all()
    loaded = db_session.scalars(select(LeadMagnet)).one()
    assert loaded.published_at == dt.datetime(2024, 5, 1, 10, 0, 30, 123456, tzinfo=dt.UTC)
    assert loaded.published_at is not None and loaded.published_at.tzinfo == dt.UTC
    for value in (loaded.created_at, loaded.updated_at):
        assert value.tzinfo == dt.UTC and abs(utcnow() - value) < dt.timedelta(minutes=5)
    # Comparisons in SQL use the same UTC representation.
    found = db_session.scalars(
        select(LeadMagnet).where(
            LeadMagnet.published_at > dt.datetime(2024, 5, 1, 11, 0, tzinfo=plus_two)
        )
    ).all()
    assert [m.id for m in found] == [loaded.id]


def test_server_default_timestamps_are_utc(db_session: Session) -> None:
    db_session.execute(
        sa.text(
            "INSERT INTO organizations (id, name, slug, settings) "
            "VALUES ('org_raw', 'Raw', 'raw', '{}')"
        )
    )
    db_session.commit()
    org = db_session.get_one(Organization, "org_raw")
    assert org.consent_mode == "cookieless"
    assert org.created_at.tzinfo == dt.UTC
    assert abs(utcnow() - org.created_at) < dt.timedelta(minutes=5)


def test_naive_datetimes_are_rejected(db_session: Session) -> None:
    org = _org(db_session)
    db_session.add(
        LeadMagnet(
            org_id=org.id,
            name="Guide",
            slug="guide",
            type=MagnetType.EBOOK,
            published_at=dt.datetime(2024, 5, 1, 12, 0),
        )
    )
    with pytest.raises(StatementError) as raised:
        db_session.commit()
    assert isinstance(raised.value.orig, NaiveDatetimeError)


def test_webhook_secret_rotation_and_body_truncation(db_session: Session) -> None:
    org = _org(db_session)
    endpoint = WebhookEndpoint(org_id=org.id, url="https://hooks.test/in")
    db_session.add(endpoint)
    db_session.flush()
    now = utcnow()
    old = endpoint.secret
    new = endpoint.rotate_secret(now, grace=dt.timedelta(hours=1))
    assert new != old and new.startswith("whsec_")
    assert endpoint.signing_secrets(now) == [new, old]
    assert endpoint.signing_secrets(now + dt.timedelta(hours=2)) == [new]
    event = OutboxEvent(org_id=org.id, event_type="lead.created")
    db_session.add(event)
    db_session.flush()
    delivery = WebhookDelivery(
        org_id=org.id,
        endpoint_id=endpoint.id,
        outbox_event_id=event.id,
        response_body="x" * (RESPONSE_BODY_LIMIT + 10),
    )
    db_session.add(delivery)
    db_session.commit()
    db_session.expunge_all()
    loaded = db_session.get_one(WebhookEndpoint, endpoint.id)
    assert loaded.previous_secret == old
    assert loaded.previous_secret_expires_at == now + dt.timedelta(hours=1)
    stored = db_session.get_one(WebhookDelivery, delivery.id)
    assert stored.response_body == "x" * RESPONSE_BODY_LIMIT


def test_sqlite_engine_settings(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
        assert path.exists()
        # The pooled connection alembic used (foreign keys off for batch mode) is back on.
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_sqlite_in_memory_database_is_shared_by_the_pool() -> None:
    engine = make_engine("sqlite://")
    try:
        migrate(engine)
        factory = make_session_factory(engine)
        with factory.begin() as session:
            session.add(Organization(name="Acme", slug="acme"))
        with factory() as session:
            assert session.scalars(select(Organization.slug)).all() == ["acme"]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_engine_replaces_dropped_connections(postgres_metadata_url: str) -> None:
    engine = make_engine(postgres_metadata_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            pid = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with make_engine(postgres_metadata_url).connect() as admin:  # a server restart, in small
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with engine.connect() as connection:  # pre-ping notices and reconnects
            assert connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()
