"""The Experiments page's planner and per-session metrics, with AppTest against the real
API on the simulated world: the figures shown are the API's, bad input is a message."""

from __future__ import annotations

import datetime as dt

import httpx

from dashboards import format as F
from tests.dashboards.conftest import World
from tests.dashboards.test_pages import as_user, run, texts


def test_planner_shows_the_apis_fixed_and_sequential_figures(world: World) -> None:
    token = world.token(world.a.owner_email)
    at = run(as_user(world, world.a.owner_email), "experiments")
    at.number_input(key="planner_mde").set_value(20.0).run()
    assert not at.exception, [e.value for e in at.exception]
    site = at.selectbox(key="planner_site").value
    by = dt.date.today() + dt.timedelta(days=30)
    plan = world.get("/v1/experiment-planner", token, site_id=site, mde=0.2, metric="lead",
                     arms=2, by=by.isoformat())
    table = at.table[0].value
    assert list(table["Design"]) == ["Fixed horizon (look once)", "Sequential (the sensor's test)"]
    for (_, row), design in zip(table.iterrows(), ("fixed", "sequential"), strict=True):
        d = plan[design]  # type: ignore[index]
        assert row["Users per arm"] == F.count(round(d["users_per_arm"]))
        assert row["Expected days"] == f"{d['days']:,.1f}"
        assert row[f"Chance to decide by {by.isoformat()}"] == F.pct(d["chance_by_date"], 0)
    assert plan["summary"] in texts(at)  # type: ignore[operator]

    # a smaller effect needs more users, in both designs
    at.number_input(key="planner_mde").set_value(5.0).run()
    small = at.table[0].value
    assert [_n(x) for x in small["Users per arm"]] > [_n(x) for x in table["Users per arm"]]

    at.number_input(key="planner_mde").set_value(0.0).run()  # the API's 422, as a message
    assert not at.exception and "Cannot plan: mde must be" in texts(at)


def _n(text: str) -> float:
    return float(text.replace(",", "").replace("k", "e3").replace("M", "e6"))


def test_per_session_metrics_equal_the_api_readout(world: World) -> None:
    token = world.token(world.a.owner_email)
    at = run(as_user(world, world.a.owner_email), "experiments")
    at.toggle(key="ratio_toggle").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    key = at.selectbox(key="experiment_pick").value
    exp = next(e for e in world.get("/v1/experiments", token)["data"]  # type: ignore[attr-defined]
               if e["key"] == key)
    readout = world.get(f"/v1/insights/experiments/{exp['id']}/readout", token,
                        ratio="lead_per_session,revenue_per_session")
    rows = [r for r in readout["ratios"] if r["method"] == "sequential"]  # type: ignore[index]
    assert {r["metric"] for r in rows} == {"lead_per_session", "revenue_per_session"}
    assert all(r["denominator"] >= r["users"] > 0 for r in rows)  # a session per visitor at least
    table = next(d.value for d in at.dataframe if "Per session" in d.value.columns)
    assert len(table) == len(rows)
    for (_, shown), r in zip(table.iterrows(), rows, strict=True):
        assert shown["Per session"] == f"{r['value']:,.4f}"
        assert shown["Sessions"] == F.count(r["denominator"])
    r = httpx.get(f"{world.base}/v1/insights/experiments/{exp['id']}/readout",
                  params={"ratio": "lead_rate"}, headers={"Authorization": f"Bearer {token}"},
                  timeout=30)
    assert r.status_code == 422 and "lead_per_session" in r.json()["error"]["message"]
