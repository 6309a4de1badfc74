"""One definition per number: the API's headline numbers against a direct computation over
the simulator's events, unknown filters refused, every metric documented."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import polars as pl
import pytest

from app_api.metrics import METRICS
from tests.dashboards.conftest import Org, World

ROOT = Path(__file__).resolve().parents[2]


def truth(org: Org, start: dt.datetime, end: dt.datetime, magnet: str | None = None) -> dict[str, float]:
    """The headline metrics straight from the generated events (polars, not the warehouse)."""
    ev = pl.from_arrow(org.events)
    assert isinstance(ev, pl.DataFrame)
    ev = ev.filter((pl.col("ts") >= start) & (pl.col("ts") < end))
    if magnet:
        ev = ev.filter(pl.col("magnet_id") == magnet)
    viewers = ev.filter(pl.col("event") == "magnet_view")["visitor_id"].n_unique()
    leading = ev.filter(pl.col("event") == "lead")["visitor_id"].n_unique()
    return {
        "visitors": ev.filter(pl.col("visitor_id") != "")["visitor_id"].n_unique(),
        "magnet_views": ev.filter(pl.col("event") == "magnet_view").height,
        "viewers": viewers,
        "leads": ev.filter(pl.col("event") == "lead").height,
        "leading_visitors": leading,
        "confirmed_leads": ev.filter(pl.col("event") == "confirmed").height,
        "revenue": round(float(ev.filter(pl.col("event") == "purchase")["value"].sum()), 2),
        "conversion_rate": leading / viewers if viewers else 0.0,
    }


def _day(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)


def test_headline_numbers_equal_the_simulators_events(world: World) -> None:
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=29)
    for org in (world.a, world.b):
        token = world.token(org.owner_email)
        api = world.get("/v1/overview/summary", token, start=str(start), end=str(today))
        period = api["windows"]["period"]["metrics"]  # type: ignore[index]
        expected = truth(org, _day(start), _day(today) + dt.timedelta(days=1))
        assert expected["leads"] > 20 and expected["visitors"] > 100  # a real dataset
        for name, value in expected.items():
            assert period[name] == pytest.approx(value, rel=1e-9, abs=0.005), name
        # distinct visitors are not the sum of daily distinct visitors
        days = world.get("/v1/overview/timeseries", token, start=str(start), end=str(today))["rows"]
        assert sum(r["visitors"] for r in days) > period["visitors"]  # type: ignore[index, union-attr]
        # a magnet's numbers: the same definitions with the magnet filter
        magnet = org.seeded.magnets[0].magnet_id
        api_m = world.get("/v1/overview/summary", token, start=str(start), end=str(today),
                          magnet_id=magnet)["windows"]["period"]["metrics"]  # type: ignore[index]
        for name, value in truth(org, _day(start), _day(today) + dt.timedelta(days=1), magnet).items():
            assert api_m[name] == pytest.approx(value, rel=1e-9, abs=0.005), name
        top = {r["key"]: r for r in world.get("/v1/overview/top", token, dimension="magnet")["rows"]}  # type: ignore[union-attr]
        assert top[magnet]["leads"] == api_m["leads"] and top[magnet]["name"] != magnet
    # the previous period holds nothing (the simulation is two weeks): no delta, not +inf
    assert api["deltas"]["leads"] is None  # type: ignore[index]


def test_unknown_filters_and_values_are_refused(world: World) -> None:
    token = world.token(world.a.owner_email)
    headers = {"Authorization": f"Bearer {token}"}
    other_magnet = world.b.seeded.magnets[0].magnet_id  # exists, but in the other org
    cases = [
        ("/v1/overview/summary", {"magnet_id": "mag_nope"}, 400),
        ("/v1/overview/summary", {"magnet_id": other_magnet}, 400),
        ("/v1/overview/summary", {"device": "watch"}, 422),
        ("/v1/overview/top", {"dimension": "planet"}, 422),
        ("/v1/stats/cohorts", {"dimension": "channel"}, 400),
        ("/v1/stats/cohorts", {"channel": "carrier_pigeon"}, 400),
        ("/v1/stats/funnels", {"magnet_id": other_magnet}, 400),
        ("/v1/stats/attribution", {"model": "astrology"}, 400),
    ]
    for path, params, status in cases:
        r = httpx.get(f"{world.base}{path}", params=params, headers=headers, timeout=30)
        assert r.status_code == status, (path, params, r.text)
        assert r.json()["error"]["message"]
    ok = httpx.get(f"{world.base}/v1/stats/cohorts", params={"channel": "direct"}, headers=headers,
                   timeout=30)
    assert ok.status_code == 200 and ok.json()["rows"]
    assert {r["channel"] for r in ok.json()["rows"]} == {"direct"}


def test_every_metric_is_documented_with_its_definition() -> None:
    doc = (ROOT / "docs" / "data-model.md").read_text()
    section = doc[doc.index("## Metrics"):]
    for m in METRICS:
        row = re.search(rf"^\| `{m.name}` \| {re.escape(m.label)} \| (.+) \|$", section, re.M)
        assert row, f"docs/data-model.md lacks the metric {m.name}"
        assert row.group(1) == m.definition, m.name
