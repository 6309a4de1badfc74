"""A revoked API key or a deleted site stops working on the collector: at once in the process
that made the change, within REFUSED_WITHIN_S in every other collector process."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from app_api.main import create_app
from tests.ingestion.support import CHROME, collector, setup_storage, wait_until

#: The bound stated in ingestion/registry.py: a once-a-second revision check plus a reload.
REFUSED_WITHIN_S = 3.0
EVENTS = {"events": [{"event": "purchase", "value": 1}]}


def _send(client: httpx.Client | TestClient, base: str, token: str) -> int:
    r = client.post(f"{base}/v1/events", json=EVENTS, headers={"Authorization": f"Bearer {token}"})
    return r.status_code


def _pixel(client: httpx.Client | TestClient, base: str, site_key: str) -> int:
    r = client.get(f"{base}/p.gif", params={"site": site_key, "event": "pageview"},
                   headers={"User-Agent": CHROME})
    return r.status_code


def _refused_after(check: object, what: str) -> float:
    start = time.monotonic()
    wait_until(check, timeout=15, what=what, interval=0.05)
    return time.monotonic() - start


def test_revoked_key_and_deleted_site_are_refused_everywhere(tmp_path: Path) -> None:
    settings, org, _ = setup_storage(tmp_path / "data", webhooks_worker=False)
    owner = {"Authorization": f"Bearer {org.api_key}"}
    with TestClient(create_app(settings)) as api, collector(settings) as other, \
            httpx.Client(timeout=10) as http:
        r = api.post("/v1/api-keys", headers=owner, json={"name": "to revoke",
                                                          "scopes": ["events:write"]})
        assert r.status_code == 201, r.text
        key = r.json()
        r = api.post("/v1/sites", headers=owner, json={"name": "to delete"})
        assert r.status_code == 201, r.text
        site = r.json()
        # both collectors accept the new key and site (this process at once, the other soon)
        assert _send(api, "", key["token"]) == 200
        assert _pixel(api, "", site["site_key"]) == 200
        wait_until(lambda: _send(http, other.base, key["token"]) == 200, 15, "key known")
        wait_until(lambda: _pixel(http, other.base, site["site_key"]) == 200, 15, "site known")

        assert api.post(f"/v1/api-keys/{key['id']}/revoke", headers=owner).status_code == 200
        assert _send(api, "", key["token"]) == 401  # same process: the very next request
        elapsed = _refused_after(lambda: _send(http, other.base, key["token"]) == 401,
                                 "the other collector to refuse the revoked key")
        assert elapsed <= REFUSED_WITHIN_S, elapsed

        assert api.delete(f"/v1/sites/{site['id']}", headers=owner).status_code == 204
        assert _pixel(api, "", site["site_key"]) == 403
        elapsed = _refused_after(lambda: _pixel(http, other.base, site["site_key"]) == 403,
                                 "the other collector to refuse the deleted site")
        assert elapsed <= REFUSED_WITHIN_S, elapsed


def test_a_demoted_creators_key_loses_events_write_on_the_collector(tmp_path: Path) -> None:
    """The API's rule (a key's scopes within its creator's current role) holds on the
    collector too: demote the creator and their key's events are refused (403), promote
    them again and it works; deactivate them and it is unknown (401)."""
    settings, org, _ = setup_storage(tmp_path / "data", webhooks_worker=False)
    owner = {"Authorization": f"Bearer {org.api_key}"}
    with TestClient(create_app(settings)) as api, collector(settings) as other, \
            httpx.Client(timeout=10) as http:
        r = api.post("/v1/users", headers=owner, json={
            "email": "ed@example.com", "name": "Ed", "role": "admin", "password": "correct horse battery 9"})
        assert r.status_code == 201, r.text
        user = r.json()
        r = api.post("/v1/auth/token", json={"email": "ed@example.com", "password": "correct horse battery 9"})
        assert r.status_code == 200, r.text
        as_ed = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = api.post("/v1/api-keys", headers=as_ed, json={"name": "ed's server", "scopes": ["events:write"]})
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        wait_until(lambda: _send(http, other.base, token) == 200, 15, "key known")

        def role(new: str) -> None:
            resp = api.patch(f"/v1/users/{user['id']}", headers=owner, json={"role": new})
            assert resp.status_code == 200, resp.text

        role("viewer")  # viewers may not send events
        assert _send(api, "", token) == 403
        elapsed = _refused_after(lambda: _send(http, other.base, token) == 403,
                                 "the other collector to refuse the demoted creator's key")
        assert elapsed <= REFUSED_WITHIN_S, elapsed
        role("admin")
        wait_until(lambda: _send(http, other.base, token) == 200, 15, "key works again")
        resp = api.patch(f"/v1/users/{user['id']}", headers=owner, json={"is_active": False})
        assert resp.status_code == 200, resp.text
        wait_until(lambda: _send(http, other.base, token) == 401, 15, "deactivated creator's key refused")
