from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kernel.metadata.db import make_engine, make_session_factory, migrate
from kernel.settings import Settings, get_settings
from tests.helpers import make_settings

os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
# Definitions are imported before any test has data: pin the first daily partition so that
# tests can materialize any day (the first-day-with-events lookup has its own test).
os.environ.setdefault("LODESTONE_PARTITIONS_START", "2024-01-01")


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings on a fresh data directory; also exported so get_settings() agrees."""
    s = make_settings(tmp_path / "data")
    for key in list(os.environ):
        if key.startswith("LODESTONE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LODESTONE_DATA_DIR", str(s.data_path))
    monkeypatch.setenv("LODESTONE_ENV", "test")
    monkeypatch.setenv("LODESTONE_SECRET_KEY", s.secret_key)
    get_settings.cache_clear()
    yield s
    get_settings.cache_clear()


@pytest.fixture
def domain_session(tmp_path: Path) -> Iterator[Session]:
    """A session on a freshly migrated SQLite metadata database, for domain-service tests
    that need no HTTP client (content.workflow, leads.service, webhooks.endpoints)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'domain.db'}")
    migrate(engine)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()
