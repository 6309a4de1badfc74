"""Metadata store: migrations (idempotent, drift-free, CLI) and every entity round-trips."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from kernel.metadata import (
    URL_ENV,
    ActorType,
    AdSpend,
    AIGeneration,
    ApiKey,
    AuditLog,
    Base,
    ConsentMode,
    DeliveryStatus,
    Experiment,
    ExperimentStatus,
    GenerationStatus,
    KnowledgeDocument,
    KnowledgePassage,
    Lead,
    LeadMagnet,
    MagnetStatus,
    MagnetType,
    MagnetVariant,
    Organization,
    OutboxEvent,
    Role,
    Site,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    current_revision,
    downgrade,
    generate_api_key,
    head_revision,
    make_engine,
    make_session_factory,
    migrate,
)
from kernel.metadata.autogen import COMPARE_OPTIONS
from kernel.metadata.enums import LegalBasis
from kernel.metadata.models import (
    Artifact,
    BrandKitRecord,
    Build,
    ConsentPurpose,
    ConsentRecord,
    ConsentText,
    Job,
    MagnetDocument,
    MailCampaign,
    MailMessage,
    MailSuppression,
)
from kernel.metadata.privacy_models import PrivacyRequest, ProcessingActivity, RetentionPolicy
from tests.metadata_db import postgres_schema_url

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_TABLES = set(Base.metadata.tables)


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_migrate_twice_is_a_noop(metadata_url: str) -> None:
    engine = make_engine(metadata_url)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == head_revision() is not None
        assert _tables(engine) == APP_TABLES | {"alembic_version"}
        migrate(engine)
        migrate(metadata_url)  # by URL too, as a second process at start-up would
        assert current_revision(engine) == head_revision()
        assert _tables(engine) == APP_TABLES | {"alembic_version"}
        with engine.connect() as connection:
            versions = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert versions.scalars().all() == [head_revision()]
    finally:
        engine.dispose()


def test_models_match_migrations(metadata_engine: Engine) -> None:
    with metadata_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=COMPARE_OPTIONS)
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_back(metadata_engine: Engine) -> None:
    downgrade(metadata_engine, "base")
    assert current_revision(metadata_engine) is None
    assert _tables(metadata_engine) <= {"alembic_version"}
    migrate(metadata_engine)
    assert current_revision(metadata_engine) == head_revision()
    assert _tables(metadata_engine) == APP_TABLES | {"alembic_version"}


def test_concurrent_migrators_both_succeed(metadata_url: str) -> None:
    code = "import sys; from kernel.metadata import migrate; migrate(sys.argv[1])"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, metadata_url],
            cwd=REPO_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
    engine = make_engine(metadata_url)
    try:
        assert current_revision(engine) == head_revision()
        assert _tables(engine) == APP_TABLES | {"alembic_version"}
    finally:
        engine.dispose()


def test_threads_of_one_process_can_migrate_together(metadata_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(metadata_url)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []


@pytest.mark.postgres
def test_postgres_objects_stay_in_the_test_schema(postgres_metadata_url: str) -> None:
    migrate(postgres_metadata_url)
    engine = make_engine(postgres_metadata_url)
    try:
        with engine.connect() as connection:
            schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
            assert schema.startswith("lodestone_test_")
            tables = connection.execute(
                sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            )
            assert set(tables.scalars()) == APP_TABLES | {"alembic_version"}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_schema_is_dropped_afterwards(postgres_base_url: str) -> None:
    with postgres_schema_url(postgres_base_url) as url:
        migrate(url)
        schema = str(make_url(url).query["options"]).removeprefix("-csearch_path=")
    engine = make_engine(postgres_base_url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                sa.text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema}
            ).scalar_one()
        assert found == 0
    finally:
        engine.dispose()


def test_every_tenant_table_has_an_index_led_by_org_id(metadata_engine: Engine) -> None:
    inspector = sa.inspect(metadata_engine)
    for table in APP_TABLES - {"organizations"}:
        column = next(c for c in inspector.get_columns(table) if c["name"] == "org_id")
        assert column["nullable"] is False, table
        fks = inspector.get_foreign_keys(table)
        assert any(
            fk["constrained_columns"] == ["org_id"] and fk["referred_table"] == "organizations"
            for fk in fks
        ), table
        leading = [ix["column_names"][0] for ix in inspector.get_indexes(table)]
        leading += [uq["column_names"][0] for uq in inspector.get_unique_constraints(table)]
        leading += inspector.get_pk_constraint(table)["constrained_columns"][:1]
        assert "org_id" in leading, f"{table}: no index starts with org_id"


def test_alembic_cli_with_ini_file(metadata_url: str) -> None:
    env = {**os.environ, URL_ENV: metadata_url}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", "kernel/metadata/alembic.ini", "upgrade", "head"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = make_engine(metadata_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_alembic_cli_without_url_says_what_to_set() -> None:
    env = {k: v for k, v in os.environ.items() if k != URL_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", "kernel/metadata/alembic.ini", "upgrade", "head"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert f"set {URL_ENV}" in result.stderr


def _populate(session: Session) -> dict[str, str]:
    """Create an organization with one row in every table; return the ids."""
    org = Organization(name="Acme", slug="acme", consent_mode=ConsentMode.FIRST_PARTY)
    session.add(org)
    session.flush()
    user = User(org_id=org.id, email="Owner@Acme.test", name="Olive", role=Role.OWNER)
    site = Site(org_id=org.id, name="Blog", allowed_origins=["https://acme.test"])
    session.add_all([user, site])
    session.flush()
    key = generate_api_key()
    api_key = ApiKey(
        org_id=org.id,
        name="server",
        prefix=key.prefix,
        secret_hash=key.secret_hash,
        scopes=["events:write"],
        created_by=user.id,
    )
    magnet = LeadMagnet(
        org_id=org.id,
        site_id=site.id,
        name="SEO checklist",
        slug="seo-checklist",
        type=MagnetType.CHECKLIST,
        content={"items": ["titles", "links"]},
        lead_value=12.5,
        created_by=user.id,
    )
    magnet.variants.append(MagnetVariant(org_id=org.id, key="A", name="Control", is_control=True))
    session.add_all([api_key, magnet])
    session.flush()
    experiment = Experiment(
        org_id=org.id,
        magnet_id=magnet.id,
        key="seo-headline",
        name="Headline test",
        variants=[{"key": "A", "name": "Control", "weight": 0.5}],
    )
    endpoint = WebhookEndpoint(org_id=org.id, url="https://hooks.acme.test/in", event_types=["*"])
    event = OutboxEvent(org_id=org.id, event_type="lead.created", payload={"email": "a@b.c"})
    session.add_all([experiment, endpoint, event])
    session.flush()
    rows = [
        Lead(org_id=org.id, magnet_id=magnet.id, variant="A", email="Reader@Example.com"),
        AIGeneration(org_id=org.id, magnet_id=magnet.id, model="m", prompt="p", response="r"),
        AuditLog(
            org_id=org.id,
            actor=user.id,
            actor_type=ActorType.USER,
            action="experiment.created",
            resource_type="experiment",
            resource_id=experiment.id,
            after={"status": "draft"},
        ),
        WebhookDelivery(org_id=org.id, endpoint_id=endpoint.id, outbox_event_id=event.id),
        AdSpend(org_id=org.id, date=dt.date(2024, 5, 1), channel="google", amount=99.9),
        KnowledgeDocument(
            org_id=org.id, title="Pricing facts", media_type="text/markdown", sha256="0" * 64,
            size_bytes=42,
            passages=[KnowledgePassage(org_id=org.id, position=0, text="Plans start at $29.")],
        ),
        MailMessage(org_id=org.id, kind="confirm", to_addr="reader@example.com",
                    subject="Confirm", text_body="t", html_body="<p>h</p>",
                    message_id="<1@acme.test>"),
        MailSuppression(org_id=org.id, email="Gone@Example.com", reason="bounced"),
        MailCampaign(org_id=org.id, magnet_id=magnet.id, name="Launch", subject="New",
                     scheduled_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC)),
        BrandKitRecord(org_id=org.id, kit={"name": "Acme"}),
        ConsentPurpose(id="purp_1", org_id=org.id, key="marketing_email", name="Marketing"),
    ]
    session.add_all(rows)
    session.flush()
    job = Job(org_id=org.id, kind="build", magnet_id=magnet.id)
    session.add(job)
    session.add(ConsentText(org_id=org.id, purpose_id="purp_1", version=1, text="Mail me",
                            sha256="2" * 64))
    session.flush()
    lead = session.scalars(sa.select(Lead)).one()
    session.add(ConsentRecord(org_id=org.id, lead_id=lead.id, purpose="marketing_email",
                              text_version=1, granted=True, source="form", proof="2" * 64))
    build = Build(org_id=org.id, magnet_id=magnet.id, job_id=job.id, document_version=1)
    build.artifacts.append(Artifact(org_id=org.id, magnet_id=magnet.id, name="a.pdf",
                                    media_type="application/pdf", size_bytes=3, sha256="1" * 64))
    session.add_all([build, MagnetDocument(org_id=org.id, magnet_id=magnet.id, version=1,
                                           document={"title": "SEO"}, job_id=job.id),
                     PrivacyRequest(org_id=org.id, kind="erase", subject={},
                                    subject_hash="0" * 64, requested_by="system", job_id=job.id),
                     RetentionPolicy(org_id=org.id, raw_events_days=90),
                     ProcessingActivity(org_id=org.id, name="Lead capture", purpose="Send the guide",
                                        legal_basis=LegalBasis.CONTRACT)])
    session.commit()
    return {"org": org.id, "user": user.id, "magnet": magnet.id, "experiment": experiment.id}


def test_one_of_each_entity_reads_back(metadata_engine: Engine) -> None:
    factory = make_session_factory(metadata_engine)
    with factory() as session:
        ids = _populate(session)
    with factory() as session:
        for table in Base.metadata.sorted_tables:
            count = session.scalar(select(func.count()).select_from(table))
            assert count == 1, table.name
        org = session.get_one(Organization, ids["org"])
        assert org.id.startswith("org_") and len(org.id) == 36
        assert org.consent_mode is ConsentMode.FIRST_PARTY and org.settings == {}
        user = session.get_one(User, ids["user"])
        assert (user.email, user.role, user.is_active) == ("owner@acme.test", Role.OWNER, True)
        magnet = session.get_one(LeadMagnet, ids["magnet"])
        assert magnet.status is MagnetStatus.DRAFT and magnet.type is MagnetType.CHECKLIST
        assert magnet.lead_value == 12.5 and [v.key for v in magnet.variants] == ["A"]
        assert magnet.content_version == 1
        build = session.scalars(select(Build)).one()
        assert build.job.status == "queued" and [a.name for a in build.artifacts] == ["a.pdf"]
        experiment = session.get_one(Experiment, ids["experiment"])
        assert experiment.status is ExperimentStatus.DRAFT
        assert (experiment.coverage, experiment.alpha, experiment.primary_metric) == (
            1.0,
            0.05,
            "lead",
        )
        assert (experiment.min_runtime_hours, experiment.min_users_per_arm) == (72, 1000)
        lead = session.scalars(select(Lead)).one()
        assert (lead.email, lead.consent, lead.fields) == ("reader@example.com", False, {})
        generation = session.scalars(select(AIGeneration)).one()
        assert generation.status is GenerationStatus.PENDING
        assert (generation.step, generation.latency_ms, generation.error) == ("generate", 0, None)
        knowledge = session.scalars(select(KnowledgeDocument)).one()
        assert knowledge.id.startswith("kdoc_") and knowledge.passage_count == 0
        assert [p.text for p in knowledge.passages] == ["Plans start at $29."]
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.attempt, delivery.status) == (1, DeliveryStatus.PENDING)
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        assert endpoint.secret.startswith("whsec_") and endpoint.is_active
        spend = session.scalars(select(AdSpend)).one()
        assert (spend.date, spend.currency, spend.campaign) == (dt.date(2024, 5, 1), "USD", "")
        site = session.scalars(select(Site)).one()
        assert site.site_key.startswith("pub_")
        assert session.scalars(select(ApiKey)).one().is_active


def test_updated_at_moves_on_update(db_session: Session) -> None:
    org = Organization(name="Acme", slug="acme")
    db_session.add(org)
    db_session.flush()
    magnet = LeadMagnet(org_id=org.id, name="Guide", slug="guide", type=MagnetType.EBOOK)
    db_session.add(magnet)
    db_session.commit()
    before = magnet.updated_at
    magnet.status = MagnetStatus.PUBLISHED
    db_session.commit()
    assert magnet.updated_at > before
    assert magnet.created_at <= before
