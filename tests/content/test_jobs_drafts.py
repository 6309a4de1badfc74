# ruff: noqa: F811  (the API fixtures are imported by name)
"""AI drafts as jobs: offline (no endpoint) and through the real openai client against a
local OpenAI-compatible server; bad briefs are 422 before anything is queued."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from content.document import make_brief
from content.offline import generate
from jobs.worker import Worker
from kernel.settings import Settings
from tests.app_api.conftest import (  # noqa: F401  (fixtures)
    api_settings,
    app_for,
    client,
    metadata_url,
    shared_url,
    world,
)
from tests.app_api.world import World, build_world
from tests.content.openai_server import Fail, OpenAIServer, Reply


def _run_until_done(client: TestClient, job_id: str, headers: dict[str, str]) -> dict:
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    worker = Worker(state.sessions, state.settings)
    for _ in range(20):
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed") or worker.run_once() is None:
            break
    return client.get(f"/v1/jobs/{job_id}", headers=headers).json()


def test_an_offline_draft_lands_as_a_new_document_version(client: TestClient,
                                                          world: World) -> None:
    a, b = world.a, world.b
    mid = a.ids["magnet_id"]
    before = client.get(f"/v1/magnets/{mid}/document", headers=a.auth()).json()["version"]
    for bad, why in (({"topic": ""}, "the topic is empty"),
                     ({"topic": "x" * 10_000}, "keep it to 300"),
                     ({"topic": "churn", "industry": "mining"}, "industry")):
        r = client.post(f"/v1/magnets/{mid}/drafts", json=bad, headers=a.auth("editor"))
        assert r.status_code == 422 and why in r.text, (bad, r.text)
    r = client.post(f"/v1/magnets/{mid}/drafts", headers=a.auth("editor"),
                    json={"topic": "winning back lapsed coaching clients",
                          "industry": "coaching", "audience": "independent coaches"})
    assert r.status_code == 202 and r.json()["status"] == "queued" and r.json()["kind"] == "draft"
    job = _run_until_done(client, r.json()["id"], a.auth())
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["offline"] is True and job["result"]["version"] == before + 1
    doc = client.get(f"/v1/magnets/{mid}/document", headers=a.auth()).json()
    assert doc["version"] == before + 1 and doc["document"]["type"] == "ebook"
    assert "lapsed coaching clients" in json.dumps(doc["document"]).lower()
    versions = client.get(f"/v1/magnets/{mid}/document/versions", headers=a.auth()).json()
    assert versions[0]["source"] == "offline" and versions[0]["job_id"] == job["id"]
    assert client.get(f"/v1/jobs/{job['id']}", headers=b.auth()).status_code == 404
    assert client.post(f"/v1/magnets/{mid}/drafts", json={"topic": "x"},
                       headers=b.auth("owner")).status_code == 404


def test_a_draft_through_the_openai_client(api_settings: Settings) -> None:
    brief = make_brief("checklist", "preparing a home for its first viewing", "real-estate")
    doc = generate(brief).model_dump_json()
    research = json.dumps({"angle": "first impressions", "key_points": ["light", "smell"],
                           "outline": [{"title": "Before", "points": ["declutter"]}]})
    with OpenAIServer() as server:
        settings = api_settings.model_copy(update={"openai_base_url": server.base_url,
                                                   "openai_max_retry_wait_s": 0.01})
        with TestClient(app_for(settings)) as client:
            w = build_world(client.app.state.lodestone)  # type: ignore[attr-defined]
            a = w.a
            mid = client.post("/v1/magnets", headers=a.auth("editor"), json={
                "name": "Viewing", "slug": "viewing", "type": "checklist"}).json()["id"]
            server.push(Reply(content=research), Fail(500), Reply(content=doc),
                        Reply(content=doc), Reply(content=doc))
            r = client.post(f"/v1/magnets/{mid}/drafts", headers=a.auth("editor"),
                            json={"topic": brief.topic, "industry": "real-estate"})
            job = _run_until_done(client, r.json()["id"], a.auth())
            assert job["status"] == "succeeded", job["error"]
            assert job["result"]["offline"] is False
            assert job["result"]["steps"] == ["research", "generate", "optimize", "visualize"]
            saved = client.get(f"/v1/magnets/{mid}/document", headers=a.auth()).json()
            assert saved["document"]["title"] == json.loads(doc)["title"]
            versions = client.get(f"/v1/magnets/{mid}/document/versions", headers=a.auth()).json()
            assert versions[0]["source"] == "ai"
            assert len(server.requests) == 5  # one 500 retried

            server.push(*[Fail(401)] * 3)
            r = client.post(f"/v1/magnets/{mid}/drafts", headers=a.auth("editor"),
                            json={"topic": brief.topic, "industry": "real-estate"})
            job = _run_until_done(client, r.json()["id"], a.auth())
            assert job["status"] == "failed" and job["attempts"] == 1 and job["error"]
