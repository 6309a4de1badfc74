"""The holdout through the API: defaults, bad input 4xx, a promotion starts it, its fields
cannot change while it runs, an override ends it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app_api.world import World

ARMS = [{"key": "A", "weight": 0.5}, {"key": "B", "weight": 0.5}]


def test_holdout_fields_and_their_lifecycle(client: TestClient, world: World) -> None:
    a = world.a
    body = {"key": "holdout-test", "name": "Holdout", "magnet_id": a.ids["magnet_id"],
            "variants": ARMS}
    for bad in ({"holdout_share": 0.6}, {"holdout_share": -0.01}, {"holdout_days": -1},
                {"holdout_share": "NaN"}):
        r = client.post("/v1/experiments", headers=a.auth("editor"), json={**body, **bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["message"]
    r = client.post("/v1/experiments", headers=a.auth("editor"), json=body)
    assert r.status_code == 201, r.text
    exp = r.json()
    assert (exp["holdout_share"], exp["holdout_days"], exp["holdout_started_at"]) == (0.05, 30,
                                                                                     None)
    eid = exp["id"]
    r = client.patch(f"/v1/experiments/{eid}", headers=a.auth("editor"),
                     json={"holdout_share": 0.1, "holdout_days": 14})
    assert r.status_code == 200 and r.json()["holdout_share"] == 0.1
    client.post(f"/v1/experiments/{eid}/start", headers=a.auth("editor"))
    promoted = client.post(f"/v1/experiments/{eid}/promote", headers=a.auth("admin"),
                           json={"winner": "B"}).json()
    assert promoted["holdout_started_at"] and promoted["holdout_ends_at"]
    r = client.patch(f"/v1/experiments/{eid}", headers=a.auth("editor"),
                     json={"holdout_share": 0.2})
    assert r.status_code == 409 and "while the holdout runs" in r.json()["error"]["message"]
    over = client.post(f"/v1/experiments/{eid}/override-winner", headers=a.auth("owner"),
                       json={"winner": "A"}).json()
    assert over["holdout_started_at"] is None and over["holdout_ends_at"]  # a person's choice
