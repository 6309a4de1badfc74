"""Experiment promotion rules through the API: margins, MDE, gates; bad input is a 422."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.app_api.world import World

ARMS = [{"key": "A", "weight": 0.5}, {"key": "B", "weight": 0.5}]
REVENUE = {"metric": "revenue", "margin": 0.15}


def _post(client: TestClient, world: World, **extra):  # type: ignore[no-untyped-def]
    body = {"key": "rules", "name": "Rules", "variants": ARMS, **extra}
    # json.dumps writes NaN and Infinity, so they reach the server as such
    return client.post("/v1/experiments", content=json.dumps(body),
                       headers={**world.a.auth("editor"), "content-type": "application/json"})


def test_rules_are_stored_and_read_back(client: TestClient, world: World) -> None:
    r = _post(client, world, guardrails=[REVENUE, {"metric": "unsubscribe", "margin": 0.2,
                                                   "direction": "lower_is_better"}],
              mde=0.05, min_conversions=50, srm_threshold=0.0005, guardrail_alpha=0.1)
    assert r.status_code == 201, r.text
    exp = r.json()
    assert exp["guardrails"] == [
        {"metric": "revenue", "margin": 0.15, "direction": "higher_is_better"},
        {"metric": "unsubscribe", "margin": 0.2, "direction": "lower_is_better"}]
    assert (exp["mde"], exp["min_conversions"], exp["srm_threshold"],
            exp["guardrail_alpha"]) == (0.05, 50, 0.0005, 0.1)
    # new experiments get the faster one-sided test planned for +10 % by default
    r = _post(client, world, key="defaults")
    assert r.json()["mde"] == 0.10 and r.json()["guardrails"] == []
    assert r.json()["min_conversions"] == 30 and r.json()["srm_threshold"] == 0.001
    eid = r.json()["id"]
    r = client.patch(f"/v1/experiments/{eid}", headers=world.a.auth("editor"),
                     json={"guardrails": [REVENUE], "mde": None})
    assert r.status_code == 200 and r.json()["mde"] is None
    assert r.json()["guardrails"][0]["margin"] == 0.15
    assert client.post(f"/v1/experiments/{eid}/start",
                       headers=world.a.auth("editor")).status_code == 200
    r = client.patch(f"/v1/experiments/{eid}", headers=world.a.auth("editor"),
                     json={"guardrails": [{"metric": "revenue", "margin": 0.5}]})
    assert r.status_code == 409 and "guardrails" in r.json()["error"]["message"]
    r = client.post(f"/v1/experiments/{eid}/rollback", headers=world.a.auth("owner"),
                    json={"note": "checkout errors"})
    assert r.json()["decision"]["summary"] == (
        "Rolled back (checkout errors): every visitor is served the control, A, again (it "
        "served the test arms).")


BAD = [
    ({"guardrails": [{"metric": "revenue", "margin": -0.1}]}, "margin must be"),
    ({"guardrails": [{"metric": "revenue", "margin": 1.0}]}, "below 1"),
    ({"guardrails": [{"metric": "revenue", "margin": 2.5}]}, "15 %"),
    ({"guardrails": [{"metric": "revenue", "margin": float("nan")}]}, "margin must be"),
    ({"guardrails": [{"metric": "revenue", "margin": float("inf")}]}, "margin must be"),
    ({"guardrails": [{"metric": "revenue", "margin": 0}]}, "above 0"),
    ({"guardrails": [REVENUE, REVENUE]}, "repeated: revenue"),
    ({"guardrails": [{"metric": "revenue", "margin": 0.1, "direction": "up"}]}, "direction"),
    ({"mde": 0}, "mde"),
    ({"mde": -0.1}, "mde"),
    ({"mde": float("nan")}, "mde"),
    ({"srm_threshold": 1}, "srm_threshold"),
    ({"guardrail_alpha": 0}, "guardrail_alpha"),
    ({"min_conversions": -1}, "min_conversions"),
]


def test_bad_rules_are_refused_with_a_message(client: TestClient, world: World) -> None:
    for extra, says in BAD:  # one world for all cases: its fixture is the slow part
        r = _post(client, world, **extra)
        assert r.status_code == 422, (extra, r.text)
        error = r.json()["error"]
        assert says in error["message"] or says in json.dumps(error["details"]), (extra, error)


def test_patch_refuses_null_for_a_gate(client: TestClient, world: World) -> None:
    eid = _post(client, world).json()["id"]
    r = client.patch(f"/v1/experiments/{eid}", headers=world.a.auth("editor"),
                     json={"min_conversions": None})
    assert r.status_code == 422 and "min_conversions" in r.json()["error"]["message"]
