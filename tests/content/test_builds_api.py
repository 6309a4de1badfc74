# ruff: noqa: F811  (the API fixtures are imported by name)
"""Builds through the API: 202 with a job, the worker renders, artifacts listed and
downloaded by their organization only (another organization gets 404)."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from content.document import Image, make_brief
from content.offline import generate
from jobs.worker import Worker
from kernel.metadata.models import LeadMagnet
from tests.app_api.conftest import (  # noqa: F401  (fixtures)
    api_settings,
    client,
    metadata_url,
    shared_url,
    world,
)
from tests.app_api.world import World


def _give_document(client: TestClient, magnet_id: str, topic: str,
                   remote_image: bool = False) -> None:
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    doc = generate(make_brief("ebook", topic, "coaching"), 1)
    if remote_image:  # rendering must not fetch it (cloud metadata address)
        doc.sections[0].blocks.append(Image(src="http://169.254.169.254/latest/x.png",
                                            alt="metadata"))
    with state.sessions() as s:
        magnet = s.get_one(LeadMagnet, magnet_id)
        magnet.content = doc.model_dump(mode="json")
        s.commit()


def test_build_runs_as_a_job_and_only_its_org_downloads_it(client: TestClient,
                                                           world: World) -> None:
    a, b = world.a, world.b
    mid = a.ids["magnet_id"]
    _give_document(client, mid, "client onboarding calls <script>alert(1)</script>",
                   remote_image=True)
    r = client.post(f"/v1/magnets/{mid}/builds", json={"formats": ["html", "pdf"]},
                    headers=a.auth("editor"))
    assert r.status_code == 202, r.text
    build = r.json()
    assert build["status"] == "queued" and build["artifacts"] == []
    job = client.get(f"/v1/jobs/{build['job_id']}", headers=a.auth("viewer")).json()
    assert (job["status"], job["kind"], job["progress"]) == ("queued", "build", 0.0)

    state = client.app.state.lodestone  # type: ignore[attr-defined]
    worker = Worker(state.sessions, state.settings)
    for _ in range(20):  # the shared database may hold other tests' queued jobs first
        done = client.get(f"/v1/builds/{build['id']}", headers=a.auth("viewer")).json()
        if done["status"] not in ("queued", "running") or worker.run_once() is None:
            break
    done = client.get(f"/v1/builds/{build['id']}", headers=a.auth("viewer")).json()
    assert done["status"] == "succeeded", done["job"]["error"]
    assert done["job"]["progress"] == 1.0 and done["job"]["attempts"] == 1
    assert any("not fetched" in w and "169.254.169.254" in w for w in done["warnings"])
    names = sorted(x["name"].rsplit(".", 1)[1] for x in done["artifacts"])
    assert names == ["html", "pdf"]
    listed = client.get(f"/v1/magnets/{mid}/builds", headers=a.auth("viewer")).json()["data"]
    assert build["id"] in [x["id"] for x in listed]
    for art in done["artifacts"]:
        got = client.get(art["download_url"], headers=a.auth("viewer"))
        assert got.status_code == 200
        assert hashlib.sha256(got.content).hexdigest() == art["sha256"]
        assert len(got.content) == art["size_bytes"]
        assert "attachment" in got.headers["content-disposition"]
        if art["name"].endswith(".html"):
            assert b"<script>alert(1)</script>" not in got.content
            assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in got.content
        else:
            assert got.content.startswith(b"%PDF")
        other = client.get(art["download_url"], headers=b.auth("owner"))
        assert other.status_code == 404 and art["sha256"] not in other.text
    for path in (f"/v1/builds/{build['id']}", f"/v1/jobs/{build['job_id']}",
                 f"/v1/magnets/{mid}/builds"):
        assert client.get(path, headers=b.auth("owner")).status_code == 404
    assert client.post(f"/v1/magnets/{mid}/builds", headers=a.auth("viewer")).status_code == 403


def test_bad_build_requests_are_refused_before_queueing(client: TestClient,
                                                        world: World) -> None:
    a = world.a
    mid = a.ids["magnet_id"]
    _give_document(client, mid, "pricing your coaching packages")
    before = client.get("/v1/jobs", headers=a.auth("owner")).json()["data"]
    r = client.post(f"/v1/magnets/{mid}/builds", json={"formats": ["docx"]},
                    headers=a.auth("owner"))
    assert r.status_code == 422 and "ebook is built as pdf, html" in r.json()["error"]["message"]
    r = client.post(f"/v1/magnets/{mid}/builds", json={"template": "saas-checklist"},
                    headers=a.auth("owner"))
    assert r.status_code == 422 and "for checklists" in r.json()["error"]["message"]
    r = client.post(f"/v1/magnets/{mid}/builds", json={"template": "no-such-template"},
                    headers=a.auth("owner"))
    assert r.status_code == 422 and "unknown template" in r.json()["error"]["message"]
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    with state.sessions() as s:
        s.get_one(LeadMagnet, mid).content = {"schema_version": 1, "type": "ebook"}
        s.commit()
    r = client.post(f"/v1/magnets/{mid}/builds", headers=a.auth("owner"))
    assert r.status_code == 422 and "title" in r.json()["error"]["message"]
    after = client.get("/v1/jobs", headers=a.auth("owner")).json()["data"]
    assert len(after) == len(before)
