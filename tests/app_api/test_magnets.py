"""Magnets and variants: CRUD, the review gate, frozen content, pagination and filters."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from content.document import make_brief
from content.offline import generate
from kernel.metadata.models import AuditLog, OutboxEvent
from tests.app_api.world import World


def _document(type_: str, topic: str) -> dict[str, object]:
    """A document that passes the quality gate (the offline generator's)."""
    return generate(make_brief(type_, topic, "saas")).model_dump(mode="json")


def _events(client: TestClient, org_id: str, magnet_id: str) -> list[str]:
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    with state.sessions() as s:
        rows = [(e.event_type, e.payload) for e in s.scalars(sa.select(OutboxEvent).where(
            OutboxEvent.org_id == org_id).order_by(OutboxEvent.created_at))]
    return [t for t, payload in rows if payload["magnet"]["id"] == magnet_id]


def test_review_gate_from_draft_to_published(client: TestClient, world: World) -> None:
    a = world.a
    r = client.post("/v1/magnets", headers=a.auth("editor"),
                    json={"name": "Launch checklist", "slug": "launch", "type": "checklist",
                          "content": _document("checklist", "launching a product page"),
                          "lead_value": 12.5})
    assert r.status_code == 201, r.text
    magnet = r.json()
    assert magnet["status"] == "draft" and magnet["created_by"] == a.users["editor"]
    mid = magnet["id"]
    # Publishing skips the review: refused, with the states it works on.
    r = client.post(f"/v1/magnets/{mid}/publish", headers=a.auth("editor"))
    assert r.status_code == 409 and "approved" in r.json()["error"]["message"]
    assert client.post(f"/v1/magnets/{mid}/submit", headers=a.auth("editor")).status_code == 200
    # An editor cannot approve their own work; an admin can.
    r = client.post(f"/v1/magnets/{mid}/approve", headers=a.auth("editor"))
    assert r.status_code == 403
    assert r.json()["error"]["details"] == [{"missing_permission": "lead_magnets:approve"}]
    r = client.post(f"/v1/magnets/{mid}/approve", headers=a.auth("admin"), json={"note": "ok"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = client.post(f"/v1/magnets/{mid}/publish", headers=a.auth("editor"))
    assert r.status_code == 200
    assert r.json()["status"] == "published" and r.json()["published_at"]
    # Content of a published magnet is frozen; the name is not.
    r = client.patch(f"/v1/magnets/{mid}", headers=a.auth("editor"),
                     json={"content": {"items": ["changed"]}})
    assert r.status_code == 409 and "withdraw" in r.json()["error"]["message"]
    assert client.patch(f"/v1/magnets/{mid}", headers=a.auth("editor"),
                        json={"name": "Launch checklist 2026"}).status_code == 200
    assert client.post(f"/v1/magnets/{mid}/withdraw", headers=a.auth("editor")).json()[
        "status"] == "draft"
    assert client.patch(f"/v1/magnets/{mid}", headers=a.auth("editor"),
                        json={"content": {"items": ["changed"]}}).status_code == 200
    assert client.post(f"/v1/magnets/{mid}/archive", headers=a.auth("editor")).json()[
        "status"] == "archived"
    assert _events(client, a.id, mid) == ["magnet.approved", "magnet.published", "magnet.archived"]
    actions = client.get(f"/v1/audit-log?resource_id={mid}", headers=a.auth()).json()["data"]
    assert [e["action"] for e in reversed(actions)] == [
        "magnet.created", "magnet.submit", "magnet.approve", "magnet.publish", "magnet.updated",
        "magnet.withdraw", "magnet.updated", "magnet.archive"]
    approve = next(e for e in actions if e["action"] == "magnet.approve")
    assert approve["before"]["status"] == "in_review" and approve["after"]["status"] == "approved"
    assert approve["actor"] == a.users["admin"] and approve["after"]["note"] == "ok"


def test_reject_sends_back_to_draft_and_delete_rules(client: TestClient, world: World) -> None:
    a = world.a
    mid = client.post("/v1/magnets", headers=a.auth("editor"), json={
        "name": "Calc", "slug": "calc", "type": "calculator",
        "content": _document("calculator", "payback of onboarding work")}).json()["id"]
    client.post(f"/v1/magnets/{mid}/submit", headers=a.auth("editor"))
    r = client.post(f"/v1/magnets/{mid}/reject", headers=a.auth("owner"), json={"note": "typo"})
    assert r.json()["status"] == "draft"
    assert client.delete(f"/v1/magnets/{mid}", headers=a.auth("editor")).status_code == 204
    assert client.get(f"/v1/magnets/{mid}", headers=a.auth()).status_code == 404
    # The seeded magnet has leads and an experiment: deleting it is refused.
    r = client.delete(f"/v1/magnets/{a.ids['magnet_id']}", headers=a.auth("editor"))
    assert r.status_code == 409 and "leads" in r.json()["error"]["message"]


def test_slug_conflicts_and_foreign_site(client: TestClient, world: World) -> None:
    a, b = world.a, world.b
    body = {"name": "X", "slug": "same", "type": "ebook"}
    assert client.post("/v1/magnets", headers=a.auth(), json=body).status_code == 201
    r = client.post("/v1/magnets", headers=a.auth(), json=body)
    assert r.status_code == 409 and "slug" in r.json()["error"]["message"]
    # Another organization may use the same slug.
    assert client.post("/v1/magnets", headers=b.auth(), json=body).status_code == 201
    r = client.post("/v1/magnets", headers=a.auth(), json={**body, "slug": "other",
                                                          "site_id": b.ids["site_id"]})
    assert r.status_code == 404


def test_variants_crud_and_single_control(client: TestClient, world: World) -> None:
    a = world.a
    base = f"/v1/magnets/{a.ids['magnet_id']}/variants"
    r = client.post(base, headers=a.auth("editor"), json={"key": "C", "name": "Bold",
                                                          "is_control": True})
    assert r.status_code == 201
    c_id = r.json()["id"]
    variants = client.get(base, headers=a.auth("viewer")).json()["data"]
    assert [v["key"] for v in variants if v["is_control"]] == ["C"]
    assert client.post(base, headers=a.auth("editor"), json={"key": "C"}).status_code == 409
    r = client.patch(f"{base}/{c_id}", headers=a.auth("editor"), json={"content": {"h": "Hi"}})
    assert r.json()["content"] == {"h": "Hi"}
    assert client.delete(f"{base}/{c_id}", headers=a.auth("editor")).status_code == 204
    assert client.get(f"{base}/{c_id}", headers=a.auth()).status_code == 404
    detail = client.get(f"/v1/magnets/{a.ids['magnet_id']}", headers=a.auth()).json()
    assert sorted(v["key"] for v in detail["variants"]) == ["A", "B"]


def test_cursor_pagination_walks_every_row_once(client: TestClient, world: World) -> None:
    a = world.a
    created = [client.post("/v1/magnets", headers=a.auth(), json={
        "name": f"M{i}", "slug": f"m-{i}", "type": "template"}).json()["id"] for i in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/magnets", headers=a.auth(), params=params).json()
        seen += [m["id"] for m in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 8
    assert seen[:7] == list(reversed(created))  # newest first
    r = client.get("/v1/magnets", headers=a.auth(), params={"limit": 201})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "query.limit"
    r = client.get("/v1/magnets", headers=a.auth(), params={"cursor": "not-a-cursor"})
    assert r.status_code == 400 and "cursor" in r.json()["error"]["message"]


def test_filters(client: TestClient, world: World) -> None:
    a = world.a
    client.post("/v1/magnets", headers=a.auth(), json={"name": "Pricing Calculator",
                                                       "slug": "pc", "type": "calculator"})
    names = lambda **p: [m["name"] for m in client.get(  # noqa: E731
        "/v1/magnets", headers=a.auth(), params=p).json()["data"]]
    assert names(type="calculator") == ["Pricing Calculator"]
    assert names(q="PRICING") == ["Pricing Calculator"]
    assert names(q="%") == []  # LIKE wildcards are matched literally
    assert names(status="draft", site_id=a.ids["site_id"]) == ["Playbook"]
    assert client.get("/v1/magnets", headers=a.auth(),
                      params={"status": "bogus"}).status_code == 422


def test_audit_log_filters_and_is_append_only(client: TestClient, world: World) -> None:
    a = world.a
    client.patch(f"/v1/organizations/{a.id}", headers=a.auth(), json={"name": "Alpha Inc"})
    entries = client.get("/v1/audit-log", headers=a.auth(),
                         params={"action": "organization.updated"}).json()["data"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["before"]["name"] != "Alpha Inc" and entry["after"]["name"] == "Alpha Inc"
    assert entry["actor_type"] == "user" and entry["actor"] == a.users["owner"]
    assert entry["ip_hash"] and len(entry["ip_hash"]) == 64 and "testclient" not in str(entry)
    prefix = client.get("/v1/audit-log", headers=a.auth(), params={"action": "organization."})
    assert [e["id"] for e in prefix.json()["data"]] == [entry["id"]]
    by_actor = client.get("/v1/audit-log", headers=a.auth(), params={
        "actor": a.users["owner"], "since": "2000-01-01T00:00:00"}).json()["data"]
    assert entry["id"] in [e["id"] for e in by_actor]
    assert client.get(f"/v1/audit-log/{entry['id']}", headers=a.auth()).json() == entry
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    with state.sessions() as s:
        row = s.get(AuditLog, entry["id"])
        row.action = "tampered"
        try:
            s.commit()
            raise AssertionError("audit rows must not be updatable")
        except Exception as exc:  # AuditLogImmutableError, wrapped or not
            assert "append-only" in str(exc)
