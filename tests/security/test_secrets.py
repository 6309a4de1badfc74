"""No forgeable sessions (issue #18, item 4): per-directory dev secret, strong production
secrets, and no session at all for a user without a password."""

from __future__ import annotations

import base64
import secrets
import stat
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app_api.auth import sessions
from kernel.metadata.models import User
from kernel.secret_file import MIN_ENTROPY_BITS, entropy_bits
from kernel.settings import SettingsError, load_settings
from tests.app_api.conftest import app_for
from tests.app_api.world import build_world

OLD_CONSTANT = "dev-secret-change-me"


def test_development_secret_is_random_per_data_directory(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LODESTONE_SECRET_KEY", raising=False)  # a session fixture may set it
    one = load_settings(data_dir=tmp_path / "one", env="development")
    again = load_settings(data_dir=tmp_path / "one", env="development")
    two = load_settings(data_dir=tmp_path / "two", env="development")
    assert one.secret_key == again.secret_key != two.secret_key
    assert OLD_CONSTANT not in (one.secret_key, two.secret_key)
    assert entropy_bits(one.secret_key) >= MIN_ENTROPY_BITS
    mode = stat.S_IMODE((tmp_path / "one" / "secret_key").stat().st_mode)
    assert mode == 0o600, oct(mode)


@pytest.mark.parametrize("weak", ["x" * 40, secrets.token_hex(16), OLD_CONSTANT, "change-me",
                                  "correct-horse-battery-staple", ""])
def test_production_refuses_weak_secrets(tmp_path: Path, weak: str) -> None:
    with pytest.raises(SettingsError, match="LODESTONE_SECRET_KEY"):
        load_settings(data_dir=tmp_path, env="production", secret_key=weak)


@pytest.mark.parametrize("strong", [secrets.token_urlsafe(32), secrets.token_hex(32)])
def test_production_accepts_random_secrets(tmp_path: Path, strong: str) -> None:
    master = base64.b64encode(secrets.token_bytes(32)).decode()
    assert load_settings(data_dir=tmp_path, env="production", secret_key=strong,
                         master_key=master).secret_key


def test_the_old_constant_forges_nothing_in_development(tmp_path: Path,
                                                        metadata_url: str) -> None:
    settings = load_settings(data_dir=tmp_path, env="development", metadata_url=metadata_url)
    with TestClient(app_for(settings)) as client:
        world = build_world(client.app.state.lodestone)  # type: ignore[attr-defined]
        assert client.get("/v1/me", headers=world.a.auth("admin")).status_code == 200
        state = client.app.state.lodestone  # type: ignore[attr-defined]
        with state.sessions() as s:
            admin = s.get(User, world.a.users["admin"])
            forged, _ = sessions.issue(OLD_CONSTANT, user_id=admin.id, org_id=admin.org_id,
                                       password_hash=admin.password_hash, kind="bearer",
                                       ttl_s=3600, now=int(time.time()))
        r = client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401


def test_a_user_without_password_has_no_session(client: TestClient, world: object) -> None:
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    with state.sessions() as s:
        member = s.get(User, world.a.ids["user_id"])  # type: ignore[attr-defined]
        assert member.password_hash is None
        token, _ = sessions.issue(state.settings.secret_key, user_id=member.id,
                                  org_id=member.org_id, password_hash=None, kind="bearer",
                                  ttl_s=3600, now=int(time.time()))
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
