"""Fixtures for the API tests: a migrated metadata DB (SQLite and PostgreSQL) and an app.

``metadata_url`` mirrors tests/kernel/conftest.py: parametrized over ``sqlite`` and
``postgresql`` (a schema of its own, dropped afterwards); PostgreSQL is skipped with the
reason when unreachable, unless ``CI`` is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app_api.main import create_app
from kernel.metadata.db import make_engine, migrate
from kernel.settings import Settings
from tests.app_api.world import World, build_world
from tests.helpers import make_settings
from tests.metadata_db import (
    DEFAULT_POSTGRES_URL,
    postgres_schema_url,
    postgres_unavailable_reason,
    sqlite_url,
)

POSTGRES_URL = os.environ.get("LODESTONE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@cache
def _postgres_reason() -> str | None:
    return postgres_unavailable_reason(POSTGRES_URL)


def require_postgres() -> None:
    reason = _postgres_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason} (CI is set, so PostgreSQL tests must run)")
    pytest.skip(f"{reason}; start PostgreSQL or set LODESTONE_TEST_POSTGRES_URL")


def _url(backend: str, directory: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield sqlite_url(directory / "metadata.db")
        return
    require_postgres()
    with postgres_schema_url(POSTGRES_URL, prefix="lodestone_api") as url:
        yield url


def migrated(url: str) -> str:
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def shared_url(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per backend for the session; tests isolate by organization."""
    for url in _url(request.param, tmp_path_factory.mktemp("shared")):
        yield migrated(url)


@pytest.fixture
def metadata_url(shared_url: str) -> str:
    """URL of a migrated metadata DB (shared; every test works in organizations of its own)."""
    return shared_url


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a freshly migrated, empty metadata database (for tests that scan all rows)."""
    for url in _url(request.param, tmp_path):
        yield migrated(url)


def relaxed(settings: Settings, **overrides: object) -> Settings:
    """``settings`` with test limits (a generous rate limit, no background webhook or mail
    worker)
    and ``overrides`` (Settings field names)."""
    values: dict[str, object] = {"api_rate_limit_per_minute": 100_000, "webhooks_worker": False,
                                 "api_login_max_failures_per_ip": 10_000, "mail_worker": False,
                                 "jobs_worker": False}
    values.update(overrides)
    return settings.model_copy(update=values)


def app_for(settings: Settings, **overrides: object) -> FastAPI:
    return create_app(relaxed(settings, **overrides), with_collector=False)


@pytest.fixture
def api_settings(settings: Settings, metadata_url: str) -> Settings:
    """Settings on a temporary data dir whose metadata DB is ``metadata_url``."""
    return make_settings(settings.data_path, metadata_url=metadata_url)


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    """A TestClient on the API (lifespan run, no collector, no webhook thread)."""
    with TestClient(app_for(api_settings)) as c:
        yield c


@pytest.fixture
def world(client: TestClient) -> World:
    """Two organizations with a user of every role, keys and one of each resource."""
    return build_world(client.app.state.lodestone)  # type: ignore[attr-defined]


# Module-scoped variants for the big table-driven tests.
@pytest.fixture(scope="module")
def module_url(shared_url: str) -> str:
    return shared_url


@pytest.fixture(scope="module")
def module_client(module_url: str, tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[TestClient]:
    s = make_settings(tmp_path_factory.mktemp("data"), metadata_url=module_url)
    with TestClient(app_for(s)) as c:
        yield c


@pytest.fixture(scope="module")
def module_world(module_client: TestClient) -> World:
    return build_world(module_client.app.state.lodestone)  # type: ignore[attr-defined]
