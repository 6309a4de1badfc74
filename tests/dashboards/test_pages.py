"""Every page with streamlit's AppTest against the real API on simulated data: the numbers
shown are the API's, a viewer gets no action, org B never sees org A's numbers (cache
included), and a promote click changes the status and writes an audit row."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import format as F
from dashboards.client import LodestoneClient
from dashboards.session import KEY, Viewer, _viewer
from lodestone.seed import DEMO_PASSWORD
from tests.dashboards.conftest import ROOT, VIEWER_PASSWORD, World

APP = str(ROOT / "dashboards" / "app.py")
PAGES = ["overview", "magnets", "experiments", "funnels", "cohorts", "attribution", "roi",
         "explore", "studio"]
ACTIONS = ("Start", "Stop", "Promote", "Roll back", "Import spend", "Confirm")


def as_user(world: World, email: str, password: str = DEMO_PASSWORD) -> Viewer:
    return _viewer(LodestoneClient(world.base, world.token(email, password)), "user")


def run(viewer: Viewer | None, page: str = "overview", query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    if viewer is not None:
        at.session_state[KEY] = viewer
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page != "overview":
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


def texts(at: AppTest) -> str:
    parts = [x.value for x in [*at.markdown, *at.caption, *at.info, *at.warning, *at.success,
                               *at.title, *at.header, *at.subheader]]
    return "\n".join(str(p) for p in parts)


def test_sign_in_form_then_sign_out(world: World) -> None:
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert at.title[0].value == "Sign in to Lodestone"
    at.text_input[0].input(world.a.owner_email)
    at.text_input[1].input("wrong password")
    at.button[0].click().run()
    assert "email or password is wrong" in at.error[0].value
    at.text_input[1].input(DEMO_PASSWORD)
    at.button[0].click().run()
    assert not at.exception and at.title[0].value == "Overview"
    assert "Acme Analytics" in texts(at) and "owner" in texts(at)
    at.button(key="sign_out").click().run()
    assert at.title[0].value == "Sign in to Lodestone"


def test_overview_shows_the_apis_numbers(world: World) -> None:
    at = run(as_user(world, world.a.owner_email))
    today = dt.datetime.now(dt.UTC).date()
    api = world.get("/v1/overview/summary", world.token(world.a.owner_email),
                    start=str(today - dt.timedelta(days=29)), end=str(today))
    shown = metrics(at)
    assert len(shown) == 18  # last 30 minutes, today, period: six each
    period = shown[12:]
    for (label, value), name in zip(period, ("visitors", "magnet_views", "leads",
                                             "confirmed_leads", "conversion_rate", "revenue"),
                                    strict=True):
        assert label == F.label(name)
        assert value == F.value(name, api["windows"]["period"]["metrics"][name])  # type: ignore[index]
    assert "%" in period[4][1] and not period[4][1].startswith("0.")  # 9.31 %, never 0.0931
    top = at.dataframe[0].value  # top magnets, by name, never by id
    api_names = {m["id"]: m["name"] for m in world.get(
        "/v1/magnets", world.token(world.a.owner_email))["data"]}  # type: ignore[union-attr]
    assert set(top["Magnet"]) == set(api_names.values())
    # a link with a filter reproduces the view: the magnet filter is read from the URL
    magnet = world.a.seeded.magnets[0].magnet_id
    at = run(as_user(world, world.a.owner_email), query={"magnet": magnet, "days": "7"})
    api_m = world.get("/v1/overview/summary", world.token(world.a.owner_email),
                      start=str(today - dt.timedelta(days=6)), end=str(today), magnet_id=magnet)
    assert metrics(at)[14][1] == F.value("leads", api_m["windows"]["period"]["metrics"]["leads"])  # type: ignore[index]


def test_funnels_in_step_order_with_the_apis_counts(world: World) -> None:
    at = run(as_user(world, world.a.owner_email), "funnels")
    table = at.dataframe[0].value
    magnet_shown = at.selectbox(key="f_magnet").value
    api = [r for r in world.get("/v1/stats/funnels", world.token(world.a.owner_email),
                                magnet_id=magnet_shown)["rows"]]  # type: ignore[union-attr]
    for arm in {r["variant"] for r in api}:
        part = table[table["Variant"] == (arm or "(no test)")]
        assert list(part["Step"]) == ["1 view", "2 form start", "3 lead", "4 confirmed", "5 purchase"]
        expected = [F.count(r["visitors"]) for r in sorted(
            (r for r in api if r["variant"] == arm), key=lambda r: r["step_index"])]
        assert list(part["Visitors"]) == expected


def test_attribution_models_side_by_side_equal_the_api(world: World) -> None:
    at = run(as_user(world, world.a.owner_email), "attribution")
    table = at.dataframe[0].value
    api = world.get("/v1/stats/attribution", world.token(world.a.owner_email))["rows"]
    assert list(table.columns) == ["Channel", *F.MODELS.values()]
    for r in api:  # type: ignore[union-attr]
        row = table[table["Channel"] == r["channel"]].iloc[0]
        assert row[F.MODELS[r["model"]]] == f"{r['conversions']:,.1f}"
    paths = at.dataframe[1].value
    api_paths = world.get("/v1/insights/attribution/paths", world.token(world.a.owner_email),
                          limit=15)["rows"]
    assert list(paths["Path"]) == [p["path"] for p in api_paths]  # type: ignore[union-attr]
    assert "lead value" in texts(at)  # value vs revenue is explained


def test_experiments_read_out_and_a_viewer_gets_no_action(world: World) -> None:
    owner = run(as_user(world, world.a.owner_email), "experiments")
    labels = [b.label for b in owner.button]
    assert "Stop" in labels and any(lbl.startswith("Promote") for lbl in labels)
    exp_key = owner.selectbox(key="experiment_pick").value
    exps = world.get("/v1/experiments", world.token(world.a.owner_email))["data"]
    exp = next(e for e in exps if e["key"] == exp_key)  # type: ignore[union-attr]
    readout = world.get(f"/v1/insights/experiments/{exp['id']}/readout",
                        world.token(world.a.owner_email))
    latest = {r["variant"]: r for r in readout["latest"]["sequential"]}  # type: ignore[index]
    bayes = {r["variant"]: r for r in readout["latest"]["bayesian"]}  # type: ignore[index]
    table = owner.dataframe[1].value
    for arm, r in latest.items():
        row = table[table["Variant"] == arm].iloc[0]
        assert row["Users"] == F.count(r["users"])
        assert row["Conversion rate"] == F.pct(r["conversion_rate"])
        if r["lift"] is not None:
            assert row["Chance to beat control"] == F.pct(bayes[arm]["chance_to_beat"], 1)
            assert row["Fixed-horizon 95 % interval"] != "–"
    assert "38.8 %" in texts(owner)  # why peeking at the fixed-horizon interval lies
    viewer = run(as_user(world, world.a.viewer_email, VIEWER_PASSWORD), "experiments")
    assert not [b.label for b in viewer.button if b.label.startswith(ACTIONS)]


@pytest.mark.parametrize("page", ["magnets", "cohorts", "roi", "explore", "studio"])
def test_other_pages_render_for_owner_and_viewer(world: World, page: str) -> None:
    for email, password in ((world.a.owner_email, DEMO_PASSWORD),
                            (world.a.viewer_email, VIEWER_PASSWORD)):
        at = run(as_user(world, email, password), page)
        assert not at.error, [e.value for e in at.error]
        if email == world.a.viewer_email:
            assert not [b.label for b in at.button if b.label.startswith(ACTIONS)]
    if page == "roi":
        assert "No spend uploaded" in texts(at)
    if page == "studio":
        assert "Quality checks" in [t.label for t in at.tabs]
    if page == "cohorts":
        leads = world.get("/v1/stats/cohorts", world.token(world.a.owner_email))["rows"]
        expected = sum(r["leads"] for r in leads if r["weeks_since"] == 0)  # type: ignore[union-attr]
        shown = at.dataframe[0].value
        assert sum(int(x.replace(",", "")) for x in shown["Leads"]) == expected


def test_org_b_never_sees_org_a(world: World) -> None:
    run(as_user(world, world.a.owner_email))  # fills the cache with A's numbers
    at = run(as_user(world, world.b.owner_email))
    shown = dict(metrics(at)[12:])
    today = dt.datetime.now(dt.UTC).date()
    start, end = str(today - dt.timedelta(days=29)), str(today)
    b = world.get("/v1/overview/summary", world.token(world.b.owner_email), start=start, end=end)
    a = world.get("/v1/overview/summary", world.token(world.a.owner_email), start=start, end=end)
    b_m, a_m = b["windows"]["period"]["metrics"], a["windows"]["period"]["metrics"]  # type: ignore[index]
    assert shown["Leads"] == F.count(b_m["leads"]) != F.count(a_m["leads"])
    assert shown["Visitors"] == F.count(b_m["visitors"]) != F.count(a_m["visitors"])
    page = texts(at)
    assert "Globex Growth" in page and "Acme Analytics" not in page
    for m in world.a.seeded.magnets:
        assert m.magnet_id not in page
    for p in ("funnels", "attribution", "experiments"):
        other = run(as_user(world, world.b.owner_email), p)
        assert world.a.seeded.magnets[0].experiment_key not in texts(other)


def test_switching_organization_keeps_each_ones_numbers(world: World) -> None:
    """One tab signed in to A, then "Add organization" B with B's own password: the selector
    switches between them with no sign-in, each shows only its own numbers (cache included),
    A's filters do not follow into B, and signing out of one leaves the other."""
    today = dt.datetime.now(dt.UTC).date()
    span = {"start": str(today - dt.timedelta(days=29)), "end": str(today)}
    want = {o.seeded.slug: F.count(world.get("/v1/overview/summary", world.token(o.owner_email),
                                             **span)["windows"]["period"]["metrics"]["leads"])  # type: ignore[index]
            for o in (world.a, world.b)}
    assert want["acme"] != want["globex"]
    magnet = world.a.seeded.magnets[0].magnet_id
    at = run(as_user(world, world.a.owner_email), query={"magnet": magnet})
    leads = lambda: dict(metrics(at)[12:])["Leads"]  # noqa: E731
    assert leads() != want["acme"]  # filtered by A's magnet
    at.text_input(key=f"add_org_email_{world.a.seeded.org_id}").input(world.b.owner_email)
    at.text_input(key="add_org_password").input("wrong password")
    at.text_input(key="add_org_slug").input("globex")
    at.button[[b.label for b in at.button].index("Sign in to it")].click().run()
    assert "email or password is wrong" in at.error[0].value
    assert "Acme Analytics" in texts(at)  # a failed sign-in changes nothing
    at.text_input(key=f"add_org_email_{world.a.seeded.org_id}").input(world.b.owner_email)
    at.text_input(key="add_org_password").input(DEMO_PASSWORD)
    at.text_input(key="add_org_slug").input("globex")
    at.button[[b.label for b in at.button].index("Sign in to it")].click().run()
    assert not at.exception
    assert leads() == want["globex"] and "magnet" not in at.query_params  # A's filter dropped
    assert at.selectbox(key="org_switch").value == world.b.seeded.org_id
    page = texts(at)
    assert "Acme" not in page and all(m.magnet_id not in page for m in world.a.seeded.magnets)
    at.selectbox(key="org_switch").select(world.a.seeded.org_id).run()  # instant: no password
    assert leads() == want["acme"] and "Globex" not in texts(at)
    at.selectbox(key="org_switch").select(world.b.seeded.org_id).run()
    assert leads() == want["globex"]
    at.button(key="sign_out").click().run()  # out of globex: acme is left
    assert at.title[0].value == "Overview" and leads() == want["acme"]
    assert "Acme Analytics" in texts(at)  # the only one left: named, no selector
    at.button(key="sign_out").click().run()
    assert at.title[0].value == "Sign in to Lodestone"


def test_promote_click_changes_status_and_writes_an_audit_row(world: World) -> None:
    token = world.token(world.b.owner_email)
    exp = next(e for e in world.get("/v1/experiments", token)["data"]  # type: ignore[union-attr]
               if e["key"] == world.b.seeded.magnets[0].experiment_key)
    assert exp["status"] == "running"
    at = run(as_user(world, world.b.owner_email), "experiments", {"experiment": exp["key"]})
    at.button(key="act_promote_Promote B").click().run()
    assert "Promote B" in at.warning[0].value  # asks before acting
    at.button(key="confirm_action").click().run()
    assert not at.exception
    assert "promoted" in texts(at).lower()
    after = world.get(f"/v1/experiments/{exp['id']}", token)
    assert after["status"] == "promoted" and after["winner"] == "B"
    audit = httpx.get(f"{world.base}/v1/audit-log", headers={"Authorization": f"Bearer {token}"},
                      params={"resource_id": exp["id"]}, timeout=30).json()["data"]
    rows: list[dict[str, Any]] = [r for r in audit if r["resource_id"] == exp["id"]]
    assert any("promot" in r["action"] for r in rows), rows


def test_an_event_is_on_the_overview_within_5_seconds(world: World) -> None:
    """Last in this file: it adds an event to org A (live numbers only)."""
    viewer = as_user(world, world.a.owner_email)
    before = dict(metrics(run(viewer))[:6])["Magnet views"]
    key = world.a.seeded.api_key
    sent = time.monotonic()
    r = httpx.post(f"{world.base}/v1/events", headers={"Authorization": f"Bearer {key}"},
                   json={"events": [{"event": "magnet_view", "ts": int(time.time() * 1000),
                                     "visitor_id": "live-visitor-1", "event_id": str(uuid.uuid4()),
                                     "magnet_id": world.a.seeded.magnets[0].magnet_id,
                                     "url": "https://demo.lodestone.example/m/live"}]}, timeout=30)
    assert r.json()["accepted"] == 1
    expected = int(before.replace(",", "")) + 1
    token = world.token(world.a.owner_email)

    def live_views() -> int:
        summary = world.get("/v1/overview/summary", token)
        return int(summary["windows"]["last_30_minutes"]["metrics"]["magnet_views"])  # type: ignore[index]

    while time.monotonic() - sent < 5 and live_views() != expected:
        time.sleep(0.2)
    took = time.monotonic() - sent
    assert live_views() == expected and took <= 5, f"the API had it after {took:.1f} s"
    # the page's next render (its live cache lives 2 s; the fragment reruns every 10 s)
    time.sleep(2)
    assert dict(metrics(run(viewer))[:6])["Magnet views"] == F.count(expected)
