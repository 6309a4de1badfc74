"""Authentication: API keys, password login (cookie + CSRF, bearer), throttling, limits."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app_api.auth.sessions import CSRF_COOKIE, SESSION_COOKIE
from kernel.metadata.models import ApiKey, User
from kernel.settings import Settings, load_settings
from tests.app_api.conftest import app_for
from tests.app_api.world import PASSWORD, Org, World, make_org
from tests.helpers import make_settings


def _login(client: TestClient, org: Org, **extra: object) -> Any:
    return client.post("/v1/auth/login", json={"email": org.owner_email, "password": PASSWORD,
                                               **extra})


def test_cookie_login_requires_csrf_on_unsafe_methods(api_settings: Settings) -> None:
    with TestClient(app_for(api_settings), base_url="https://testserver") as client:
        org = make_org(client.app.state.lodestone, "cookie-co")  # type: ignore[attr-defined]
        r = _login(client, org)
        assert r.status_code == 200, r.text
        cookies = r.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
        csrf = next(c for c in cookies if c.startswith(CSRF_COOKIE + "="))
        assert "HttpOnly" in session and "SameSite=lax" in session and "Secure" in session
        assert "HttpOnly" not in csrf  # the page's script reads it for the header
        assert r.json()["csrf_token"] == client.cookies[CSRF_COOKIE]

        assert client.get("/v1/me").json()["user"]["email"] == org.owner_email
        body = {"name": "Via cookie", "slug": "via-cookie", "type": "ebook"}
        refused = client.post("/v1/magnets", json=body)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf_failed"
        forged = client.post("/v1/magnets", json=body, headers={"X-CSRF-Token": "guess"})
        assert forged.status_code == 403
        ok = client.post("/v1/magnets", json=body,
                         headers={"X-CSRF-Token": client.cookies[CSRF_COOKIE]})
        assert ok.status_code == 201, ok.text

        assert client.post("/v1/auth/logout").status_code == 204
        assert client.get("/v1/me").status_code == 401


def test_cookie_is_not_secure_in_development(api_settings: Settings) -> None:
    dev = load_settings(data_dir=api_settings.data_path, env="development",
                        metadata_url=api_settings.metadata_url)
    with TestClient(app_for(dev)) as client:
        org = make_org(client.app.state.lodestone, "dev-co")  # type: ignore[attr-defined]
        cookie = next(c for c in _login(client, org).headers.get_list("set-cookie")
                      if c.startswith(SESSION_COOKIE))
        assert "Secure" not in cookie and "HttpOnly" in cookie


def test_bearer_token_for_dashboards(client: TestClient, world: World) -> None:
    r = client.post("/v1/auth/token", json={"email": world.a.owner_email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert r.json()["expires_in"] == 3600 and token.startswith("lst_")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/me", headers=headers).json()["role"] == "owner"
    # No cookie, so no CSRF check: the header cannot be sent cross-site by a browser.
    r = client.post("/v1/sites", headers=headers, json={"name": "Docs"})
    assert r.status_code == 201
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401


def test_wrong_password_and_unknown_email_look_the_same(client: TestClient, world: World) -> None:
    wrong = client.post("/v1/auth/login", json={"email": world.a.owner_email, "password": "x"})
    unknown = client.post("/v1/auth/login", json={"email": "nobody@example.com", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_login_is_throttled_per_email_and_ip(client: TestClient, world: World) -> None:
    bad = {"email": world.a.owner_email, "password": "not-the-password"}
    for _ in range(5):
        assert client.post("/v1/auth/login", json=bad).status_code == 401
    r = client.post("/v1/auth/login", json=bad)
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 15 * 60
    assert r.json()["error"]["code"] == "rate_limited"
    # Even the right password waits: the throttle runs before the password is checked.
    assert _login(client, world.a).status_code == 429
    # Other accounts are not affected.
    assert client.post("/v1/auth/login", json={"email": world.b.owner_email,
                                               "password": PASSWORD}).status_code == 200


def test_login_throttle_is_shared_through_redis(api_settings: Settings) -> None:
    server = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        server.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable: {exc}")
    shared = make_settings(api_settings.data_path, metadata_url=api_settings.metadata_url,
                           redis_url="redis://127.0.0.1:6379/0")
    email = f"nobody-{secrets.token_hex(4)}@example.com"
    with TestClient(app_for(shared)) as one, TestClient(app_for(shared)) as two:
        for client in (one, two, one, two, one):
            r = client.post("/v1/auth/login", json={"email": email, "password": "x"})
            assert r.status_code == 401
        r = two.post("/v1/auth/login", json={"email": email, "password": "x"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_same_email_in_two_organizations_needs_the_slug(client: TestClient,
                                                        world: World) -> None:
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    with state.sessions() as s:
        owner_b = s.get(User, world.b.users["owner"])
        s.add(User(org_id=world.b.id, email=world.a.owner_email, role="viewer",
                   password_hash=owner_b.password_hash))
        s.commit()
    r = _login(client, world.a)
    assert r.status_code == 400 and r.json()["error"]["code"] == "organization_required"
    r = _login(client, world.a, organization=world.b.slug)
    assert r.status_code == 200 and r.json()["organization"]["id"] == world.b.id


def test_password_change_ends_sessions_and_deactivation_is_immediate(
        client: TestClient, world: World) -> None:
    token = client.post("/v1/auth/token", json={"email": world.a.owner_email,
                                                "password": PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post("/v1/me/password", headers=headers,
                    json={"current_password": PASSWORD, "new_password": "another long password"})
    assert r.status_code == 204
    assert client.get("/v1/me", headers=headers).status_code == 401
    assert client.post("/v1/auth/token", json={"email": world.a.owner_email,
                                               "password": "another long password"}).status_code == 200
    # An admin deactivates the editor: the editor's token stops working at once.
    assert client.get("/v1/magnets", headers=world.a.auth("editor")).status_code == 200
    r = client.patch(f"/v1/users/{world.a.users['editor']}", headers=world.a.auth("admin"),
                     json={"is_active": False})
    assert r.status_code == 200
    assert client.get("/v1/magnets", headers=world.a.auth("editor")).status_code == 401


def test_api_key_lifecycle_token_once_last_used_revoke(client: TestClient, world: World) -> None:
    created = client.post("/v1/api-keys", headers=world.a.auth(),
                          json={"name": "ci", "scopes": ["lead_magnets:read"]})
    assert created.status_code == 201
    key = created.json()
    assert key["token"].startswith(key["prefix"] + "_") and key["last_used_at"] is None
    shown = client.get(f"/v1/api-keys/{key['id']}", headers=world.a.auth()).json()
    assert "token" not in shown and "secret_hash" not in shown
    headers = {"Authorization": f"Bearer {key['token']}"}
    assert client.get("/v1/magnets", headers=headers).status_code == 200
    assert client.get(f"/v1/api-keys/{key['id']}",
                      headers=world.a.auth()).json()["last_used_at"] is not None
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    with state.sessions() as s:
        row = s.scalar(sa.select(ApiKey).where(ApiKey.id == key["id"]))
        assert key["token"].split("_")[-1] not in (row.secret_hash, row.prefix)
    r = client.post(f"/v1/api-keys/{key['id']}/revoke", headers=world.a.auth())
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = client.get("/v1/magnets", headers=headers)
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    bad = client.get("/v1/magnets", headers={"Authorization": "Bearer ls_live_nonsense"})
    assert bad.status_code == 401


def test_rate_limit_per_api_key(api_settings: Settings) -> None:
    with TestClient(app_for(api_settings, api_rate_limit_per_minute=3)) as client:
        org = make_org(client.app.state.lodestone, "busy-co",  # type: ignore[attr-defined]
                       password_for_owner=False)
        for _ in range(3):
            assert client.get("/v1/magnets", headers=org.key_auth()).status_code == 200
        r = client.get("/v1/magnets", headers=org.key_auth())
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
        assert r.json()["error"]["code"] == "rate_limited"
        # Another credential has its own budget.
        assert client.get("/v1/magnets", headers=org.auth("viewer")).status_code == 200
