"""The record of processing activities through the API (derived default, first write stores
it, CRUD, audit, bad input, roles, other organizations) and the compliance report's JSON
and PDF routes."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from fastapi.testclient import TestClient

from kernel.metadata.models import AuditLog, ProcessingActivity
from tests.app_api.world import World, make_org

BASE = "/v1/privacy/processing-activities"


def test_register_crud_audit_roles_and_isolation(client: TestClient, world: World) -> None:
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    fresh = make_org(state, "fresh")
    with state.sessions() as s:  # no register stored: the derived default
        s.execute(sa.delete(ProcessingActivity).where(ProcessingActivity.org_id == fresh.id))
        s.commit()
    owner = fresh.auth("owner")
    listed = client.get(BASE, headers=owner)
    assert listed.status_code == 200 and listed.json()["source"] == "default"
    defaults = listed.json()["data"]
    names = [a["name"] for a in defaults]
    assert "Lead capture through opt-in forms" in names and "Website analytics" in names
    assert all(a["id"] is None for a in defaults)
    hooks = next(a for a in defaults if "webhooks" in a["name"])  # the org's active endpoint
    assert hooks["recipients"] == [f"Webhook endpoint hooks.example.com ({fresh.ids['endpoint_id']})"]

    body = {"name": "Webinar follow-up", "purpose": "Invite registrants to the next webinar",
            "legal_basis": "consent", "consent_purpose": fresh.ids["purpose_key"],
            "data_categories": ["email address"], "data_subjects": ["webinar registrants"],
            "recipients": ["Zoom"], "retention": "12 months",
            "transfers": [{"recipient": "Zoom", "country": "United States",
                           "safeguard": "EU-US Data Privacy Framework"}]}
    made = client.post(BASE, headers=owner, json=body)
    assert made.status_code == 201, made.text
    activity = made.json()
    assert activity["id"] and activity["transfers"][0]["country"] == "United States"
    stored = client.get(BASE, headers=owner).json()
    assert stored["source"] == "stored"  # the first write stored the defaults, then this one
    assert [a["name"] for a in stored["data"]] == [*names, "Webinar follow-up"]
    assert client.post(BASE, headers=owner, json=body).status_code == 409

    path = f"{BASE}/{activity['id']}"
    changed = client.patch(path, headers=owner, json={"retention": "6 months",
                                                      "recipients": ["Zoom", "HubSpot"]})
    assert changed.status_code == 200
    assert (changed.json()["retention"], changed.json()["recipients"]) == (
        "6 months", ["Zoom", "HubSpot"])
    assert client.get(path, headers=fresh.auth("admin")).json()["retention"] == "6 months"

    # bad input: 4xx with a message a person can act on
    bad = client.post(BASE, headers=owner, json={**body, "name": "X", "consent_purpose": None})
    assert bad.status_code == 422 and "consent purpose it relies on" in bad.text
    bad = client.post(BASE, headers=owner, json={**body, "name": "Y",
                                                 "consent_purpose": "no_such_purpose"})
    assert bad.status_code == 422 and "no consent purpose 'no_such_purpose'" in bad.text
    bad = client.post(BASE, headers=owner, json={**body, "name": "Z", "legal_basis": "vibes"})
    assert bad.status_code == 422
    bad = client.patch(path, headers=owner, json={"legal_basis": "contract",
                                                  "transfers": [{"recipient": "x"}]})
    assert bad.status_code == 422
    assert client.patch(path, headers=owner, json={"extra": 1}).status_code == 422
    ok = client.patch(path, headers=owner, json={"legal_basis": "contract",
                                                 "consent_purpose": None})
    assert ok.status_code == 200 and ok.json()["consent_purpose"] is None

    # roles: editors and viewers neither read nor write; admins write
    for role in ("editor", "viewer"):
        assert client.get(BASE, headers=fresh.auth(role)).status_code == 403
        assert client.patch(path, headers=fresh.auth(role),
                            json={"retention": "x"}).status_code == 403
    # another organization: 404, and its own register is untouched
    other = world.a.auth("owner")
    assert client.get(path, headers=other).status_code == 404
    assert client.patch(path, headers=other, json={"retention": "x"}).status_code == 404
    assert client.delete(path, headers=other).status_code == 404
    assert activity["id"] not in client.get(BASE, headers=other).text

    assert client.delete(path, headers=fresh.auth("admin")).status_code == 204
    assert client.get(path, headers=owner).status_code == 404
    with state.sessions() as s:
        actions = s.scalars(sa.select(AuditLog.action).where(
            AuditLog.org_id == fresh.id, AuditLog.resource_type == "processing_activity")
            .order_by(AuditLog.created_at, AuditLog.id)).all()
        left = s.scalar(sa.select(sa.func.count()).select_from(ProcessingActivity)
                        .where(ProcessingActivity.org_id == fresh.id))
    assert actions == ["processing_activity.seeded", "processing_activity.created",
                       "processing_activity.updated", "processing_activity.updated",
                       "processing_activity.deleted"]
    assert left == len(names)


def test_compliance_report_json_and_pdf(client: TestClient, world: World) -> None:
    org = world.a
    owner = org.auth("owner")
    for granted in (True, False, True):
        r = client.post("/v1/consent/records", headers=owner, json={
            "purpose": org.ids["purpose_key"], "granted": granted,
            "visitor_id": f"v-{secrets.token_hex(4)}", "source": "banner"})
        assert r.status_code == 201, r.text
    got = client.get("/v1/privacy/compliance-report", headers=owner)
    assert got.status_code == 200, got.text
    report = got.json()
    purpose = next(p for p in report["purposes"] if p["key"] == org.ids["purpose_key"])
    assert (purpose["shown"], purpose["granted"], purpose["declined"]) == (3, 2, 1)
    assert report["processing_activities"]["source"] == "stored"
    assert report["requests"]["by_kind"]["export"]["received"] == 1  # the world's request
    assert [x["host"] for x in report["recipients"]] == ["hooks.example.com"]
    assert report["organization"]["id"] == org.id
    assert world.b.id not in got.text
    bad = client.get("/v1/privacy/compliance-report?start=2026-03-02&end=2026-03-01",
                     headers=owner)
    assert bad.status_code == 422 and "before start" in bad.json()["error"]["message"]
    assert client.get("/v1/privacy/compliance-report?start=tomorrow",
                      headers=owner).status_code == 422
    assert client.get("/v1/privacy/compliance-report",
                      headers=org.auth("editor")).status_code == 403
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    if state.settings.resolved_metadata_url.startswith("postgresql"):
        return  # the PDF route reads the same report; rendered once (SQLite) to stay fast
    pdf = client.get("/v1/privacy/compliance-report/pdf?start=2026-01-01&end=2026-12-31",
                     headers=owner)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert f"compliance-report-{org.slug}-2026-01-01-2026-12-31.pdf" in \
        pdf.headers["content-disposition"]
