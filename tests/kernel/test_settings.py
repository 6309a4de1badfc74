from __future__ import annotations

from pathlib import Path

import pytest

from kernel.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_product(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LODESTONE_WAREHOUSE_URL", "LODESTONE_METADATA_URL", "LODESTONE_ENV"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings(data_dir="/tmp/lodestone-x", secret_key="test-secret-0123456789abcdef")
    assert s.warehouse_url == "lake"
    assert s.resolved_metadata_url == "sqlite:////tmp/lodestone-x/metadata.db"
    assert str(s.lake_dir) == "/tmp/lodestone-x/lake"


def test_wrong_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LODESTONE_WAREHOUSE_URL", "mysql://db")
    with pytest.raises(SettingsError, match="LODESTONE_WAREHOUSE_URL.*expected 'lake'"):
        load_settings()
    monkeypatch.delenv("LODESTONE_WAREHOUSE_URL")
    monkeypatch.setenv("LODESTONE_API_PORT", "99999")
    with pytest.raises(SettingsError, match="LODESTONE_API_PORT"):
        load_settings()


def test_placeholder_secret_refused_outside_development(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.delenv("LODESTONE_SECRET_KEY", raising=False)
    monkeypatch.delenv("LODESTONE_MASTER_KEY", raising=False)
    monkeypatch.delenv("LODESTONE_MASTER_KEYS_OLD", raising=False)
    monkeypatch.setenv("LODESTONE_ENV", "production")
    with pytest.raises(SettingsError, match="LODESTONE_SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("LODESTONE_SECRET_KEY", "x" * 40)
    with pytest.raises(SettingsError, match="too weak"):
        load_settings()
    monkeypatch.setenv("LODESTONE_SECRET_KEY", "q0Jd3mPyZ_5uTAv8xK2sLw9eRb4nHc7fGk1iVo6ZtYa")
    with pytest.raises(SettingsError, match="LODESTONE_MASTER_KEY is empty"):
        load_settings()  # production: no master key generated beside the data
    monkeypatch.setenv("LODESTONE_MASTER_KEY", "change-me")
    with pytest.raises(SettingsError, match="LODESTONE_MASTER_KEY is empty or a placeholder"):
        load_settings()
    monkeypatch.setenv("LODESTONE_MASTER_KEY", "c2hvcnQ=")
    with pytest.raises(SettingsError, match="32 random bytes"):
        load_settings()
    monkeypatch.setenv("LODESTONE_MASTER_KEY", "uCtCtRvhzyQPpCF9Ml4Qyq6WCQarHh/0FdZf6L156/I=")
    assert load_settings().env.value == "production"
    monkeypatch.setenv("LODESTONE_ENV", "development")
    monkeypatch.delenv("LODESTONE_SECRET_KEY")
    dev = load_settings(data_dir=tmp_path)  # development: a random secret of its own
    assert dev.env.value == "development" and (tmp_path / "secret_key").exists()


def test_postgres_url_gets_the_psycopg_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LODESTONE_METADATA_URL", "postgresql://postgres@127.0.0.1:5432/test")
    assert load_settings().resolved_metadata_url.startswith("postgresql+psycopg://")
    monkeypatch.setenv("LODESTONE_WAREHOUSE_URL", "https://user:pw@ch.example:8443/analytics")
    assert load_settings().warehouse_url.startswith("https://")
