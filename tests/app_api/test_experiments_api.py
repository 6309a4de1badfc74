"""Experiments through the API: CRUD in draft, lifecycle actions, audit and events."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from kernel.metadata.models import OutboxEvent
from tests.app_api.world import World

ARMS = [{"key": "A", "name": "Control", "weight": 0.5}, {"key": "B", "name": "New", "weight": 0.5}]


def _create(client: TestClient, org, **extra):  # type: ignore[no-untyped-def]
    body = {"key": "hero-test", "name": "Hero", "magnet_id": org.ids["magnet_id"],
            "variants": ARMS, **extra}
    return client.post("/v1/experiments", headers=org.auth("editor"), json=body)


def test_lifecycle_through_the_api(client: TestClient, world: World) -> None:
    a = world.a
    r = _create(client, a)
    assert r.status_code == 201, r.text
    exp = r.json()
    eid = exp["id"]
    assert exp["status"] == "draft" and exp["winner"] is None
    assert client.post(f"/v1/experiments/{eid}/start",
                       headers=a.auth("editor")).json()["status"] == "running"
    r = client.post(f"/v1/experiments/{eid}/start", headers=a.auth("editor"))
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "invalid_transition" and "running" in err["message"]
    assert err["details"][0]["allowed_from"] == ["draft"]
    # Design is frozen once running.
    r = client.patch(f"/v1/experiments/{eid}", headers=a.auth("editor"), json={"coverage": 0.5})
    assert r.status_code == 409
    assert client.patch(f"/v1/experiments/{eid}", headers=a.auth("editor"),
                        json={"hypothesis": "clearer"}).status_code == 200
    # Editors cannot promote; admins can, but only to a real variant.
    assert client.post(f"/v1/experiments/{eid}/promote", headers=a.auth("editor"),
                       json={"winner": "B"}).status_code == 403
    r = client.post(f"/v1/experiments/{eid}/promote", headers=a.auth("admin"),
                    json={"winner": "Z"})
    assert r.status_code == 409 and "not one of its variants" in r.json()["error"]["message"]
    r = client.post(f"/v1/experiments/{eid}/promote", headers=a.auth("admin"),
                    json={"winner": "B", "note": "clear win", "details": {"p": 0.001}})
    promoted = r.json()
    assert promoted["status"] == "promoted" and promoted["winner"] == "B"
    assert promoted["decision"]["note"] == "clear win" and promoted["stopped_at"]
    r = client.post(f"/v1/experiments/{eid}/override-winner", headers=a.auth("owner"),
                    json={"winner": "A", "note": "brand guidelines"})
    assert r.json()["winner"] == "A" and r.json()["decision"]["override"] is True
    r = client.post(f"/v1/experiments/{eid}/rollback", headers=a.auth("owner"))
    assert r.json()["status"] == "rolled_back" and r.json()["winner"] is None
    assert client.delete(f"/v1/experiments/{eid}", headers=a.auth()).status_code == 409

    state = client.app.state.lodestone  # type: ignore[attr-defined]
    with state.sessions() as s:
        events = [(e.event_type, e.payload) for e in s.scalars(
            sa.select(OutboxEvent)
            .where(OutboxEvent.org_id == a.id).order_by(OutboxEvent.created_at))
            if e.event_type.startswith("experiment.")]
    assert [t for t, _ in events] == ["experiment.started", "experiment.promoted",
                                      "experiment.promoted", "experiment.rolled_back"]
    assert events[1][1]["winner"] == "B" and events[2][1]["override"] is True
    audit = client.get("/v1/audit-log", headers=a.auth(),
                       params={"resource_id": eid}).json()["data"]
    assert [e["action"] for e in reversed(audit)] == [
        "experiment.created", "experiment.started", "experiment.updated",
        "experiment.promoted", "experiment.winner_overridden", "experiment.rolled_back"]
    override = next(e for e in audit if e["action"] == "experiment.winner_overridden")
    assert override["before"]["winner"] == "B" and override["after"]["winner"] == "A"
    assert override["actor"] == a.users["owner"]


def test_validation_messages(client: TestClient, world: World) -> None:
    a = world.a
    r = _create(client, a, variants=[{"key": "A", "weight": 0.7}, {"key": "B", "weight": 0.7}])
    assert r.status_code == 422 and "sum to 1" in r.json()["error"]["message"]
    r = _create(client, a, variants=[{"key": "A", "weight": 0.5}, {"key": "A", "weight": 0.5}])
    assert r.status_code == 422 and "unique" in r.json()["error"]["message"]
    r = _create(client, a, magnet_id=world.b.ids["magnet_id"])
    assert r.status_code == 404
    r = _create(client, a, unknown_field=1)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"].endswith(
        "unknown_field")
    assert _create(client, a).status_code == 201
    r = _create(client, a)
    assert r.status_code == 409 and "hero-test" in r.json()["error"]["message"]


def test_stop_then_promote_and_draft_delete(client: TestClient, world: World) -> None:
    a = world.a
    eid = a.ids["experiment_id"]
    assert client.post(f"/v1/experiments/{eid}/stop", headers=a.auth("editor")).status_code == 409
    client.post(f"/v1/experiments/{eid}/start", headers=a.auth("editor"))
    r = client.post(f"/v1/experiments/{eid}/stop", headers=a.auth("editor"),
                    json={"note": "budget"})
    assert r.json()["status"] == "stopped"
    r = client.post(f"/v1/experiments/{eid}/promote", headers=a.auth("admin"),
                    json={"winner": "A"})
    assert r.json()["status"] == "promoted"
    draft = _create(client, a, key="to-delete").json()
    assert client.delete(f"/v1/experiments/{draft['id']}", headers=a.auth()).status_code == 204
    listed = client.get("/v1/experiments", headers=a.auth("viewer"),
                        params={"status": "promoted"}).json()["data"]
    assert [e["id"] for e in listed] == [eid]
