"""The consent API: purposes and text versions, a grant and a withdrawal, the history with
its proofs, and a lead created through POST /v1/leads stored without its email in clear."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from fastapi.testclient import TestClient

from kernel.metadata.models import Lead
from tests.app_api.world import World


def test_purposes_grant_withdraw_history(client: TestClient, world: World) -> None:
    org = world.a
    owner = org.auth("owner")
    listed = client.get("/v1/consent/purposes", headers=owner)
    assert listed.status_code == 200
    key = org.ids["purpose_key"]
    assert [p["key"] for p in listed.json()] == [key]
    made = client.post("/v1/consent/purposes", headers=owner,
                       json={"key": "webinar_invites", "name": "Webinars",
                             "text": "Invite me to webinars."})
    assert made.status_code == 201 and made.json()["version"] == 1
    assert client.post("/v1/consent/purposes", headers=owner, json={
        "key": "webinar_invites", "name": "W", "text": "x"}).status_code == 409
    v2 = client.post("/v1/consent/purposes/webinar_invites/texts", headers=owner,
                     json={"text": "Invite me to live webinars."})
    assert v2.status_code == 201 and v2.json()["version"] == 2
    lead = client.post("/v1/leads", headers=owner, json={
        "magnet_id": org.ids["magnet_id"], "email": "Hopper@Example.com", "name": "Grace"})
    assert lead.status_code == 201 and lead.json()["email"] == "hopper@example.com"
    lead_id = lead.json()["id"]
    granted = client.post("/v1/consent/records", headers=owner, json={
        "purpose": "webinar_invites", "lead_id": lead_id, "source": "banner"})
    assert granted.status_code == 201, granted.text
    proof = hashlib.sha256(b"Invite me to live webinars.").hexdigest()
    assert (granted.json()["text_version"], granted.json()["proof"]) == (2, proof)
    gone = client.post("/v1/consent/withdraw", headers=owner,
                       json={"purpose": "webinar_invites", "lead_id": lead_id})
    assert gone.status_code == 201 and [r["granted"] for r in gone.json()] == [False]
    history = client.get(f"/v1/consent/records?lead_id={lead_id}", headers=owner).json()
    assert [(r["granted"], r["source"]) for r in history] == [(True, "banner"), (False, "api")]
    bad = client.post("/v1/consent/records", headers=owner, json={"purpose": "webinar_invites"})
    assert bad.status_code == 422 and "lead_id or a visitor_id" in bad.json()["error"]["message"]
    found = client.get("/v1/leads?email=HOPPER@example.com", headers=owner).json()["data"]
    assert [r["id"] for r in found] == [lead_id]
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    with state.sessions() as s:
        ct = s.scalar(sa.select(Lead.email_ct).where(Lead.id == lead_id))
        assert ct and b"hopper" not in ct
