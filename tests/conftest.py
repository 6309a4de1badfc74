from __future__ import annotations

import os
from pathlib import Path

import pytest

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
