"""Fixtures for metadata tests: one empty database per test, on SQLite and PostgreSQL.

``metadata_url`` is parametrized over ``sqlite`` (a temporary file) and ``postgresql``
(a fresh schema in the shared ``test`` database, dropped afterwards). When PostgreSQL is
unreachable its parameter is skipped with the reason, unless ``CI`` is set: then it fails.
Point the tests elsewhere with ``LODESTONE_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kernel.metadata.db import make_engine, make_session_factory, migrate
from tests.metadata_db import (
    DEFAULT_POSTGRES_URL,
    postgres_schema_url,
    postgres_unavailable_reason,
    sqlite_url,
)

POSTGRES_URL = os.environ.get("LODESTONE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@cache
def _postgres_reason() -> str | None:
    return postgres_unavailable_reason(POSTGRES_URL)


def require_postgres() -> None:
    """Skip (locally) or fail (in CI) the current test when PostgreSQL is unreachable."""
    reason = _postgres_reason()
    if reason is None:
        return
    if _ci():
        pytest.fail(f"{reason} (CI is set, so PostgreSQL tests must run)")
    pytest.skip(f"{reason}; start PostgreSQL or set LODESTONE_TEST_POSTGRES_URL")


@pytest.fixture
def postgres_base_url() -> str:
    """URL of the shared PostgreSQL test database (skip/fail as above if unreachable)."""
    require_postgres()
    return POSTGRES_URL


@pytest.fixture
def postgres_metadata_url(postgres_base_url: str) -> Iterator[str]:
    """URL of an empty PostgreSQL schema of its own, for PostgreSQL-only tests."""
    with postgres_schema_url(postgres_base_url) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def metadata_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty metadata database (not migrated)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "metadata" / "lodestone.db")
        return
    require_postgres()
    with postgres_schema_url(POSTGRES_URL) as url:
        yield url


@pytest.fixture
def metadata_engine(metadata_url: str) -> Iterator[Engine]:
    """Engine on a freshly migrated metadata database."""
    engine = make_engine(metadata_url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def db_session(metadata_engine: Engine) -> Iterator[Session]:
    """A session on the migrated database; closed (and rolled back) after the test."""
    with make_session_factory(metadata_engine)() as session:
        yield session
