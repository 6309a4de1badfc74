"""The AI records, the monthly budget and the quality checks' queries on both metadata engines."""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from content.ai import CallContext, run, tokens_used
from content.document import Brief, MagnetType
from content.quality import add_document, org_context, run_checks
from kernel.metadata import (
    AIGeneration,
    GenerationStatus,
    LeadMagnet,
    make_engine,
    make_session_factory,
    migrate,
)
from tests.content.metadata_db import new_org
from tests.helpers import make_settings
from tests.metadata_db import (
    DEFAULT_POSTGRES_URL,
    postgres_schema_url,
    postgres_unavailable_reason,
    sqlite_url,
)

POSTGRES_URL = os.environ.get("LODESTONE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([sqlite_url(tmp_path / "m.db")])
        ctx = None
    else:
        reason = postgres_unavailable_reason(POSTGRES_URL)
        if reason:
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)
        ctx = postgres_schema_url(POSTGRES_URL)
        urls = iter([ctx.__enter__()])
    engine = make_engine(next(urls))
    migrate(engine)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()
        if ctx is not None:
            ctx.__exit__(None, None, None)


def test_offline_drafts_budget_and_checks(factory: sessionmaker[Session], tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    org = new_org(factory)
    brief = Brief(type=MagnetType.EBOOK, topic="cutting churn in the first 90 days")
    with factory.begin() as session:
        first = LeadMagnet(org_id=org, name="Churn", slug="churn", type=MagnetType.EBOOK)
        second = LeadMagnet(org_id=org, name="Churn 2", slug="churn-2", type=MagnetType.EBOOK)
        session.add_all([first, second])
        session.flush()
        first_id, second_id = first.id, second.id
    ctx = CallContext(org_id=org, sessions=factory, settings=settings, magnet_id=first_id,
                      rng=random.Random(1))
    draft = run(brief, ctx).document
    with factory.begin() as session:
        # Metered rows of last month and this month: only this month counts.
        session.add_all([
            AIGeneration(org_id=org, step="generate", model="m", prompt="p", tokens_in=100, tokens_out=50,
                         status=GenerationStatus.SUCCEEDED),
            AIGeneration(org_id=org, step="generate", model="m", prompt="p", tokens_in=9000, tokens_out=9000,
                         status=GenerationStatus.SUCCEEDED,
                         created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=40)),
        ])
        add_document(session, org, b"# Facts\n\nOnboarding calls keep 18% more customers.", filename="f.md",
                     settings=settings)
    with factory() as session:
        assert tokens_used(session, org) == 150
        # The same draft checked for the second magnet: the first magnet's AI draft is a copy.
        results = {r.name: r for r in run_checks(draft, org_context(session, org, magnet_id=second_id,
                                                                     settings=settings))}
        own = run_checks(draft, org_context(session, org, magnet_id=first_id, settings=settings),
                         only=["uniqueness"])[0]
    assert not results["uniqueness"].passed and results["uniqueness"].value == 1.0
    assert results["uniqueness"].details[0]["kind"] == "generation"
    assert own.passed  # its own drafts are not held against it
    assert results["structure"].passed and results["links"].passed
    assert results["facts"].value is not None
