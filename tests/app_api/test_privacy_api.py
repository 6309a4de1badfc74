"""/v1/privacy on SQLite and PostgreSQL: permissions, other tenants, find, an export
downloaded once, an erasure by email (the byte scan of every table passes afterwards)."""

from __future__ import annotations

import io
import json
import zipfile

from fastapi.testclient import TestClient

from jobs.worker import Worker
from privacy import scan
from tests.app_api.world import World


def _run_jobs(client: TestClient) -> None:
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    worker = Worker(state.sessions, state.settings, kinds=("privacy_export", "privacy_erase"))
    while worker.run_once() is not None:
        pass


def test_privacy_requests_end_to_end(client: TestClient, world: World) -> None:
    a, b = world.a, world.b
    email = f"lead@{a.slug}.example"
    body = {"kind": "erase", "email": email}
    for role in ("editor", "viewer"):
        r = client.post("/v1/privacy/requests", json=body, headers=a.auth(role))
        assert r.status_code == 403 and "data:export" in r.text
    r = client.post("/v1/privacy/requests", json={"kind": "erase", "lead_id": b.ids["lead_id"]},
                    headers=a.auth("admin"))
    assert r.status_code == 404
    r = client.post("/v1/privacy/requests", json={"kind": "erase", "email": email,
                                                  "visitor_id": "v1"}, headers=a.auth())
    assert r.status_code == 422 and "exactly one" in r.json()["error"]["message"]

    found = client.post("/v1/privacy/find", json={"email": email.upper()}, headers=a.auth())
    assert found.status_code == 200, found.text
    assert found.json()["lead_ids"] == [a.ids["lead_id"]]
    assert found.json()["counts"]["leads"] == 1

    r = client.post("/v1/privacy/requests", json={"kind": "export", "lead_id": a.ids["lead_id"]},
                    headers=a.auth())
    assert r.status_code == 202 and "subject" not in r.json()
    export_id = r.json()["id"]
    early = client.post(f"/v1/privacy/requests/{export_id}/download", headers=a.auth())
    assert early.status_code == 409
    _run_jobs(client)
    done = client.get(f"/v1/privacy/requests/{export_id}", headers=a.auth()).json()
    assert done["status"] == "done" and done["steps"]["leads"] == 1 and done["expires_at"]
    r = client.post(f"/v1/privacy/requests/{export_id}/download", headers=b.auth())
    assert r.status_code == 404
    r = client.post(f"/v1/privacy/requests/{export_id}/download", headers=a.auth())
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        person = json.loads(zf.read("person.json"))
        assert "leads.csv" in zf.namelist()
    assert [lead["email"] for lead in person["leads"]] == [email]
    again = client.post(f"/v1/privacy/requests/{export_id}/download", headers=a.auth())
    assert again.status_code == 410

    r = client.post("/v1/privacy/requests", json=body, headers=a.auth())
    assert r.status_code == 202
    erase_id = r.json()["id"]
    _run_jobs(client)
    erased = client.get(f"/v1/privacy/requests/{erase_id}", headers=a.auth()).json()
    assert erased["status"] == "done" and erased["steps"]["metadata"] >= 1
    assert client.get(f"/v1/leads/{a.ids['lead_id']}", headers=a.auth()).status_code == 404
    assert client.get(f"/v1/leads/{b.ids['lead_id']}", headers=b.auth()).status_code == 200
    engine = client.app.state.lodestone.sessions.kw["bind"]  # type: ignore[attr-defined]
    assert scan.scan_database(engine, [email]) == []
    listed = client.get("/v1/privacy/requests", headers=a.auth()).json()["data"]
    assert email not in json.dumps(listed)


def test_retention_policy_api(client: TestClient, world: World) -> None:
    a, b = world.a, world.b
    r = client.get("/v1/privacy/retention", headers=a.auth())
    assert r.json() == {"raw_events_days": None, "unconfirmed_leads_days": None, "regions": {},
                        "last_run": None}
    assert client.put("/v1/privacy/retention", json={"raw_events_days": 90},
                      headers=a.auth("editor")).status_code == 403
    r = client.put("/v1/privacy/retention", json={"raw_events_days": 0}, headers=a.auth())
    assert r.status_code == 422
    r = client.put("/v1/privacy/retention", json={"raw_events_days": 90,
                                                  "unconfirmed_leads_days": 30}, headers=a.auth())
    assert r.status_code == 200 and r.json()["raw_events_days"] == 90
    assert client.get("/v1/privacy/retention", headers=a.auth()).json()["unconfirmed_leads_days"] == 30
    assert client.get("/v1/privacy/retention", headers=b.auth()).json()["raw_events_days"] is None
    r = client.put("/v1/privacy/retention", json={"raw_events_days": 90, "regions": {"XYZ": 30}},
                   headers=a.auth())
    assert r.status_code in (400, 422) and "unknown region 'XYZ'" in r.json()["error"]["message"]
    r = client.put("/v1/privacy/retention", json={"raw_events_days": 90, "regions": {"eu": 30}},
                   headers=a.auth())
    assert r.status_code == 200 and r.json()["regions"] == {"EU": 30}
