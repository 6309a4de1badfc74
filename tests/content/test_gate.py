# ruff: noqa: F811  (the API fixtures are imported by name)
"""The quality gate: checks shown with numbers and thresholds, submit/publish blocked by a
failing check with the reason, an admin override audited; the knowledge base upload."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from content import magnets, workflow
from content.document import make_brief
from content.gate import ChecksFailedError, gate_for
from content.offline import generate
from kernel.metadata.audit import Actor
from kernel.metadata.enums import ActorType, MagnetStatus, MagnetType
from kernel.metadata.models import Organization
from kernel.settings import Settings
from tests.app_api.conftest import (  # noqa: F401  (fixtures)
    api_settings,
    client,
    metadata_url,
    shared_url,
    world,
)
from tests.app_api.world import World

EDITOR = Actor("usr_editor", ActorType.USER, None)


def _doc(type_: str, topic: str, chapters: int | None = None) -> dict[str, object]:
    return generate(make_brief(type_, topic, "saas"), chapters).model_dump(mode="json")


def test_the_domain_gate_blocks_submit_until_overridden(domain_session: Session,
                                                        settings: Settings) -> None:
    org = Organization(name="Gate", slug="gate-domain")
    domain_session.add(org)
    domain_session.flush()
    short = magnets.create_magnet(domain_session, org.id, EDITOR, {
        "name": "Short", "slug": "short", "type": MagnetType.EBOOK,
        "content": _doc("ebook", "churn in the first month", 1)})
    gate = gate_for(settings)
    with pytest.raises(ChecksFailedError) as err:
        workflow.transition(domain_session, short, "submit", EDITOR, gate=gate)
    assert "structure 1 (limit 0)" in err.value.message and "at least 3 chapters" in err.value.message
    assert err.value.details[0]["name"] == "structure" and short.status == MagnetStatus.DRAFT
    workflow.transition(domain_session, short, "submit", EDITOR, "launch week", gate=gate,
                        override=True)
    assert short.status == MagnetStatus.IN_REVIEW


def test_checks_endpoint_gate_and_override_through_the_api(client: TestClient,
                                                           world: World) -> None:
    a, b = world.a, world.b
    dup = _doc("ebook", "pricing pages that convert", 3)
    first = client.post("/v1/magnets", headers=a.auth("editor"), json={
        "name": "Pricing", "slug": "pricing", "type": "ebook", "content": dup}).json()["id"]
    copy = client.post("/v1/magnets", headers=a.auth("editor"), json={
        "name": "Pricing copy", "slug": "pricing-copy", "type": "ebook",
        "content": dup}).json()["id"]
    r = client.get(f"/v1/magnets/{copy}/checks", headers=a.auth("viewer"))
    assert r.status_code == 200
    body = r.json()
    by_name = {c["name"]: c for c in body["checks"]}
    assert not body["passed"] and not by_name["uniqueness"]["passed"]
    assert by_name["uniqueness"]["value"] == 1.0 and by_name["uniqueness"]["threshold"] == 0.6
    assert by_name["readability"]["passed"] and by_name["readability"]["threshold"] == 12.0
    assert "uniqueness 1 (limit 0.6)" in body["blocked_reason"]

    r = client.post(f"/v1/magnets/{copy}/submit", headers=a.auth("editor"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "checks_failed"
    assert "uniqueness 1 (limit 0.6)" in r.json()["error"]["message"]
    assert r.json()["error"]["details"][0]["name"] == "uniqueness"
    r = client.post(f"/v1/magnets/{copy}/submit", headers=a.auth("editor"),
                    json={"override": True, "note": "x"})
    assert r.status_code == 403 and "override" in r.json()["error"]["message"]
    r = client.post(f"/v1/magnets/{copy}/submit", headers=a.auth("admin"),
                    json={"override": True, "note": "a translation, duplicate on purpose"})
    assert r.status_code == 200 and r.json()["status"] == "in_review"
    log = client.get(f"/v1/audit-log?resource_id={copy}", headers=a.auth()).json()["data"]
    over = next(e for e in log if e["action"] == "magnet.check_overridden")
    assert over["actor"] == a.users["admin"] and over["after"]["action"] == "submit"
    assert over["after"]["note"] == "a translation, duplicate on purpose"
    assert [f["name"] for f in over["after"]["failed"]] == ["uniqueness"]

    # Rewritten into something of its own, the first passes and publishes without override.
    fresh = _doc("ebook", "retention emails for trial users", 3)
    r = client.patch(f"/v1/magnets/{first}", headers=a.auth("editor"), json={"content": fresh})
    assert r.status_code == 200
    assert client.get(f"/v1/magnets/{first}/checks", headers=a.auth()).json()["passed"]
    assert client.post(f"/v1/magnets/{first}/submit", headers=a.auth("editor")).status_code == 200
    client.post(f"/v1/magnets/{first}/approve", headers=a.auth("admin"))
    r = client.post(f"/v1/magnets/{first}/publish", headers=a.auth("editor"))
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert client.get(f"/v1/magnets/{first}/checks", headers=b.auth()).status_code == 404


def test_knowledge_base_feeds_the_fact_check(client: TestClient, world: World) -> None:
    a, b = world.a, world.b
    md = b"# Pricing facts\n\nOur onboarding cuts churn by 35% in the first 90 days.\n"
    r = client.post("/v1/knowledge?filename=facts.md", content=md, headers=a.auth("editor"))
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["media_type"].startswith("text/markdown") and doc["passage_count"] >= 1
    again = client.post("/v1/knowledge?filename=copy.md", content=md, headers=a.auth("editor"))
    assert again.json()["id"] == doc["id"]
    assert doc["id"] in [d["id"] for d in client.get("/v1/knowledge", headers=a.auth()).json()]
    assert doc["id"] not in [d["id"] for d in client.get("/v1/knowledge", headers=b.auth()).json()]
    bad = client.post("/v1/knowledge?filename=x.exe", content=b"MZ\x00\x01\x02",
                      headers=a.auth("editor"))
    assert bad.status_code == 422
    facts = client.get(f"/v1/magnets/{a.ids['magnet_id']}/checks", headers=a.auth()).json()
    assert any(c["name"] == "facts" for c in facts["checks"])
    assert client.delete(f"/v1/knowledge/{doc['id']}", headers=b.auth()).status_code == 404
    assert client.delete(f"/v1/knowledge/{doc['id']}", headers=a.auth("editor")).status_code == 204
