"""GET /v1/experiment-planner: figures from the site's traffic in the lake; bad input 4xx."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from kernel.events import make_row, rows_to_arrow
from tests.app_api.world import World


def _events(client: TestClient, world: World) -> None:
    now = dt.datetime.now(dt.UTC)
    site = world.a.ids["site_id"]
    rows = []
    for i in range(1_400):  # 1,400 visitors in the last 14 days, 5 % leads
        ts = int((now - dt.timedelta(days=1 + i % 14, minutes=i % 600)).timestamp() * 1000)
        rows.append(make_row(org_id=world.a.id, site_id=site, event="pageview", ts=ts,
                             visitor_id=f"v{i}"))
        if i % 20 == 0:
            rows.append(make_row(org_id=world.a.id, site_id=site, event="lead", ts=ts + 1,
                                 visitor_id=f"v{i}"))
    ts = int((now - dt.timedelta(days=2)).timestamp() * 1000)
    rows.append(make_row(org_id=world.b.id, site_id=site, event="lead", ts=ts,
                         visitor_id="intruder"))  # another tenant's row with the same site id
    client.app.state.lodestone.warehouse().insert_events(  # type: ignore[attr-defined]
        rows_to_arrow(rows), "t")


def test_plan_from_the_sites_traffic(client: TestClient, world: World) -> None:
    _events(client, world)
    a, site = world.a, world.a.ids["site_id"]
    by = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=400)).isoformat()
    r = client.get("/v1/experiment-planner", headers=a.auth(),
                   params={"site_id": site, "mde": 0.3, "by": by, "max_days": 365})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["traffic"]["visitors"] == 1_400 and body["traffic"]["base_rate"] == 0.05
    assert body["traffic"]["users_per_day"] == 50.0
    assert body["fixed"]["users_per_arm"] > body["sequential"]["users_per_arm"] > 1_000
    assert body["sequential"]["chance_by_date"] == body["sequential"]["chance_to_decide"]
    assert "50 visitors a day" in body["summary"]

    checks = [
        ({"site_id": world.b.ids["site_id"], "mde": 0.1}, 404, "no site"),  # not ours
        ({"site_id": site, "mde": 0}, 422, "mde"),
        ({"site_id": site, "mde": -1}, 422, "mde"),
        ({"site_id": site, "mde": "nan"}, 422, "mde"),
        ({"site_id": site, "mde": 0.1, "by": "2020-01-01"}, 422, "in the past"),
        ({"site_id": site, "mde": 0.1, "metric": "purchase"}, 422, "'purchase'"),
    ]
    for params, status, says in checks:
        r = client.get("/v1/experiment-planner", headers=a.auth(), params=params)
        assert r.status_code == status, (params, r.text)
        assert says in r.json()["error"]["message"], (params, r.json())


def test_a_site_without_traffic_is_a_422(client: TestClient, world: World) -> None:
    r = client.get("/v1/experiment-planner", headers=world.b.auth(),
                   params={"site_id": world.b.ids["site_id"], "mde": 0.1})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "no_traffic" and "no visitors" in error["message"]
