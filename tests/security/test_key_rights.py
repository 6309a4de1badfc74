"""API keys never outlive their creator's rights (issue #18, item 5)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app_api.world import World


def _key(client: TestClient, world: World, role: str, scopes: list[str]) -> tuple[str, str]:
    r = client.post("/v1/api-keys", headers=world.a.auth(role),
                    json={"name": f"{role}-key", "scopes": scopes})
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["token"]


def test_a_key_loses_what_its_creator_loses(client: TestClient, world: World) -> None:
    key_id, token = _key(client, world, "admin", ["team:manage", "lead_magnets:read"])
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/users", headers=bearer).status_code == 200
    admin = world.a.users["admin"]
    r = client.patch(f"/v1/users/{admin}", headers=world.a.auth("owner"), json={"role": "viewer"})
    assert r.status_code == 200
    r = client.get("/v1/users", headers=bearer)  # team:manage is no longer the creator's
    assert r.status_code == 403, r.text
    assert "creator" in r.json()["error"]["message"]
    assert client.get("/v1/magnets", headers=bearer).status_code == 200  # still a viewer's
    shown = client.get(f"/v1/api-keys/{key_id}", headers=world.a.auth("owner")).json()
    assert shown["effective_scopes"] == ["lead_magnets:read"]
    # Promoted back: the key's own scopes apply again (they were never widened).
    client.patch(f"/v1/users/{admin}", headers=world.a.auth("owner"), json={"role": "admin"})
    assert client.get("/v1/users", headers=bearer).status_code == 200


def test_deactivating_the_creator_disables_their_keys_and_says_so(client: TestClient,
                                                                   world: World) -> None:
    key_id, token = _key(client, world, "admin", ["team:manage"])
    bearer = {"Authorization": f"Bearer {token}"}
    admin = world.a.users["admin"]
    r = client.patch(f"/v1/users/{admin}", headers=world.a.auth("owner"),
                     json={"is_active": False})
    assert r.status_code == 200
    r = client.get("/v1/users", headers=bearer)
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    shown = client.get(f"/v1/api-keys/{key_id}", headers=world.a.auth("owner")).json()
    assert shown["is_active"] is False and shown["revoked_at"] is not None
    log = client.get("/v1/audit-log", headers=world.a.auth("owner"),
                     params={"action": "api_key.revoked"}).json()["data"]
    entry = next(e for e in log if e["resource_id"] == key_id)
    assert entry["after"]["reason"] == "creator deactivated"
    # Reactivating the person does not bring the key back: revocation is final.
    client.patch(f"/v1/users/{admin}", headers=world.a.auth("owner"), json={"is_active": True})
    assert client.get("/v1/users", headers=bearer).status_code == 401


def test_deleting_the_creator_revokes_their_keys(client: TestClient, world: World) -> None:
    key_id, token = _key(client, world, "admin", ["lead_magnets:read"])
    admin = world.a.users["admin"]
    assert client.delete(f"/v1/users/{admin}", headers=world.a.auth("owner")).status_code == 204
    r = client.get("/v1/magnets", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
