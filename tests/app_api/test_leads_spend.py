"""Leads (filters, CSV export, erasure), ad spend (JSON, CSV import), errors and limits."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from fastapi.testclient import TestClient

from kernel.metadata.models import OutboxEvent
from kernel.settings import Settings
from tests.app_api.conftest import app_for
from tests.app_api.world import World, make_org


def test_create_filter_and_export_leads(client: TestClient, world: World) -> None:
    a = world.a
    mid = a.ids["magnet_id"]
    for i, variant in enumerate(["A", "B", "B"]):
        r = client.post("/v1/leads", headers=a.key_auth(), json={
            "magnet_id": mid, "email": f"Person{i}@Example.com", "variant": variant,
            "name": "=HYPERLINK(\"http://evil\")" if i == 2 else f"P{i}",
            "consent": i != 1, "utm": {"source": "newsletter", "campaign": "spring"}})
        assert r.status_code == 201, r.text
    assert r.json()["email"] == "person2@example.com"
    dup = client.post("/v1/leads", headers=a.key_auth(), json={"magnet_id": mid,
                                                                "email": "person2@example.com"})
    assert dup.status_code == 409
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    with state.sessions() as s:
        created = s.scalars(sa.select(OutboxEvent).where(
            OutboxEvent.org_id == a.id, OutboxEvent.event_type == "lead.created")).all()
    assert len(created) == 3 and created[0].payload["lead"]["magnet_id"] == mid

    def emails(**params: str | bool) -> list[str]:
        page = client.get("/v1/leads", headers=a.auth(), params=params).json()
        return sorted(lead["email"] for lead in page["data"])

    assert emails(variant="B") == ["person1@example.com", "person2@example.com"]
    assert emails(email="PERSON0@example.com") == ["person0@example.com"]
    assert emails(consent=True) == ["person0@example.com", "person2@example.com"]
    assert len(emails(magnet_id=mid)) == 4  # three new plus the seeded lead
    assert emails(created_after="2999-01-01T00:00:00Z") == []

    r = client.get("/v1/leads/export", headers=a.auth(), params={"variant": "B"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(row["email"] for row in rows) == ["person1@example.com", "person2@example.com"]
    evil = next(row for row in rows if row["email"] == "person2@example.com")
    assert evil["name"].startswith("'=")  # no formula runs when opened in a spreadsheet
    assert evil["utm_source"] == "newsletter"
    audit = client.get("/v1/audit-log", headers=a.auth(),
                       params={"action": "leads.exported"}).json()["data"]
    assert audit[0]["after"]["filters"] == {"variant": "B"}
    assert client.get("/v1/leads/export", headers=a.auth("editor")).status_code == 403


def test_export_streams_many_rows(client: TestClient, world: World) -> None:
    a = world.a
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    from kernel.metadata.models import Lead

    with state.sessions() as s:
        s.add_all([Lead(org_id=a.id, magnet_id=a.ids["magnet_id"], email=f"bulk{i}@example.com")
                   for i in range(2100)])
        s.commit()
    r = client.get("/v1/leads/export", headers=a.auth())
    assert len(list(csv.DictReader(io.StringIO(r.text)))) == 2101


def test_lead_erasure_keeps_no_personal_data_in_the_audit_log(client: TestClient,
                                                              world: World) -> None:
    a = world.a
    lead_id = a.ids["lead_id"]
    assert client.delete(f"/v1/leads/{lead_id}", headers=a.auth()).status_code == 204
    assert client.get(f"/v1/leads/{lead_id}", headers=a.auth()).status_code == 404
    entry = client.get("/v1/audit-log", headers=a.auth(),
                       params={"action": "lead.deleted"}).json()["data"][0]
    assert "@" not in str(entry)


def test_ad_spend_json_and_csv(client: TestClient, world: World) -> None:
    a = world.a
    body = {"date": "2026-04-01", "channel": "google", "campaign": "brand", "amount": 99.5}
    r = client.post("/v1/ad-spend", headers=a.auth("editor"), json=body)
    assert r.status_code == 201 and r.json()["currency"] == "USD"
    assert client.post("/v1/ad-spend", headers=a.auth("editor"), json=body).status_code == 409
    assert client.post("/v1/ad-spend", headers=a.auth("editor"),
                       json={**body, "amount": -1}).status_code == 422
    csv_text = ("Date,Channel,Campaign,Amount,Currency\n"
                "2026-04-01,google,brand,120.25,USD\n"   # replaces the JSON row
                "2026-04-02,meta,,40,EUR\n"
                "2026-04-02,meta,retargeting,10,EUR\n")
    r = client.post("/v1/ad-spend/import", headers={**a.auth("editor"),
                                                    "content-type": "text/csv"},
                    content=csv_text.encode())
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 2, "updated": 1}
    rows = client.get("/v1/ad-spend", headers=a.auth("viewer"),
                      params={"start": "2026-04-01", "end": "2026-04-30"}).json()["data"]
    assert sorted((x["date"], x["channel"], x["campaign"], x["amount"]) for x in rows) == [
        ("2026-04-01", "google", "brand", 120.25), ("2026-04-02", "meta", "", 40.0),
        ("2026-04-02", "meta", "retargeting", 10.0)]
    meta = client.get("/v1/ad-spend", headers=a.auth("viewer"),
                      params={"channel": "meta", "campaign": ""}).json()["data"]
    assert len(meta) == 1
    bad = "date,channel,amount\n2026-13-01,google,1\n2026-04-03,,2\n2026-04-04,x,abc\n"
    r = client.post("/v1/ad-spend/import", headers={**a.auth("editor"),
                                                    "content-type": "text/csv"},
                    content=bad.encode())
    assert r.status_code == 422
    assert [d["line"] for d in r.json()["error"]["details"]] == [2, 3, 4]
    r = client.post("/v1/ad-spend/import", headers={**a.auth("editor"),
                                                    "content-type": "text/csv"},
                    content=b"foo,bar\n1,2\n")
    assert r.status_code == 422 and "header lacks" in r.json()["error"]["message"]


def test_error_shape_and_body_limits(api_settings: Settings) -> None:
    with TestClient(app_for(api_settings, api_max_body_bytes=2048,
                            api_upload_max_bytes=8192)) as client:
        org = make_org(client.app.state.lodestone, "limits",  # type: ignore[attr-defined]
                       password_for_owner=False)
        big = {"name": "x", "slug": "big", "type": "ebook", "content": {"t": "y" * 4000}}
        r = client.post("/v1/magnets", headers=org.auth(), json=big)
        assert r.status_code == 413
        assert r.json()["error"] == {"code": "too_large", "details": [],
                                     "message": "request body too large; the limit is 2048 bytes"}
        chunked = client.post("/v1/sites", content=iter([b'{"name": "', b"x" * 3000, b'"}']),
                              headers={**org.auth(), "content-type": "application/json"})
        assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "too_large"
        csv_body = ("date,channel,amount\n" + "2026-01-01,g,1\n" * 400).encode()  # ~6 KB
        r = client.post("/v1/ad-spend/import", headers={**org.auth(), "content-type": "text/csv"},
                        content=csv_body)
        assert r.status_code == 200, r.text  # uploads have their own, larger limit
        for r in (client.get("/v1/nowhere", headers=org.auth()),
                  client.put("/v1/magnets", headers=org.auth()),
                  client.post("/v1/magnets", content=b"{not json",
                              headers={**org.auth(), "content-type": "application/json"})):
            body = r.json()
            assert set(body) == {"error"} and set(body["error"]) == {"code", "message",
                                                                     "details"}
        assert client.get("/v1/nowhere", headers=org.auth()).json()["error"]["code"] == "not_found"
        nul = client.post("/v1/sites", headers=org.auth(), json={"name": "a\u0000b"})
        assert nul.status_code == 422 and "NUL" in nul.json()["error"]["message"]
