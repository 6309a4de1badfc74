"""Sign-in abuse (issue #18, items 1-3): cross-tenant throttle bypass, floods, /me/password."""

from __future__ import annotations

import secrets
import threading

from fastapi.testclient import TestClient

from app_api.auth.hashgate import GATE
from kernel.settings import Settings
from tests.app_api.conftest import app_for
from tests.app_api.world import PASSWORD, World, build_world


def _login(client: TestClient, email: str, password: str, org: str | None = None) -> int:
    body = {"email": email, "password": password}
    if org:
        body["organization"] = org
    return client.post("/v1/auth/login", json=body).status_code


def test_cross_tenant_alternation_cannot_reset_the_victims_counter(client: TestClient,
                                                                   world: World) -> None:
    """The exact sequence of the issue: an admin of A gives a user of A the email of B's
    owner, then alternates 4 wrong guesses with 1 login of their own, 8 times."""
    victim = world.b.owner_email
    r = client.post("/v1/users", headers=world.a.auth("admin"),
                    json={"email": victim, "role": "viewer", "password": "attacker-knows-this"})
    assert r.status_code == 201
    guesses: list[int] = []
    own: list[int] = []
    for _ in range(8):
        for _ in range(4):
            guesses.append(_login(client, victim, "wrong-" + secrets.token_hex(4),
                                  world.b.slug))
            guesses.append(_login(client, victim, "wrong-" + secrets.token_hex(4)))
        own.append(_login(client, victim, "attacker-knows-this", world.a.slug))
    assert guesses.count(401) == 5, guesses  # five wrong passwords on B's account, no more
    assert 429 in guesses and set(guesses) <= {400, 401, 429}
    # Without a slug the email is ambiguous: refused before any hash, learning nothing.
    assert guesses[1] == 400
    assert own == [200] * 8  # the attacker's own account is not the one being guessed
    # B's owner is locked for the window, so the right password does not open it either.
    assert _login(client, victim, PASSWORD, world.b.slug) == 429


def test_failures_count_per_account_whatever_else_changes(client: TestClient,
                                                          world: World) -> None:
    statuses = []
    for i in range(7):  # different passwords, alternating with a slug and without
        statuses.append(_login(client, world.a.owner_email, f"wrong-{i}",
                               world.a.slug if i % 2 else None))
    assert statuses == [401] * 5 + [429] * 2


def test_failures_count_per_ip_across_accounts(api_settings: Settings) -> None:
    with TestClient(app_for(api_settings, api_login_max_failures_per_ip=12)) as c:
        statuses = [_login(c, f"nobody-{i}-{secrets.token_hex(3)}@example.com", "x" * 12)
                    for i in range(14)]
        assert statuses == [401] * 12 + [429] * 2
        world = build_world(c.app.state.lodestone)  # type: ignore[attr-defined]
        # Even a real account's right password waits: the IP is checked before anything.
        r = c.post("/v1/auth/login", json={"email": world.a.owner_email, "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_password_change_is_throttled_like_login(client: TestClient, world: World) -> None:
    token = client.post("/v1/auth/token", json={"email": world.a.owner_email,
                                                "password": PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    statuses = [client.post("/v1/me/password", headers=headers, json={
        "current_password": f"wrong-{i}", "new_password": "a-new-long-password"}).status_code
        for i in range(12)]
    assert statuses == [403] * 5 + [429] * 7
    # and the same account's login is locked too: one counter per account
    assert _login(client, world.a.owner_email, PASSWORD) == 429


def test_hashing_beyond_the_cores_is_refused_with_retry_after(client: TestClient,
                                                              world: World) -> None:
    taken = 0
    release = threading.Event()
    holders = []
    for _ in range(GATE.slots):  # occupy every hashing slot, as a flood would
        ready = threading.Event()

        def hold(ready: threading.Event = ready) -> None:
            with GATE.hold():
                ready.set()
                release.wait(10)

        t = threading.Thread(target=hold)
        t.start()
        ready.wait(5)
        holders.append(t)
        taken += 1
    try:
        r = client.post("/v1/auth/login", json={"email": world.a.owner_email,
                                                "password": PASSWORD})
        assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
        assert r.json()["error"]["code"] == "busy"
    finally:
        release.set()
        for t in holders:
            t.join(5)
    assert taken == GATE.slots
    assert _login(client, world.a.owner_email, PASSWORD) == 200
