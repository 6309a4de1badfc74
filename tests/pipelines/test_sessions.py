"""The sessions model on hand-made journeys: inactivity, campaign changes, channels, days."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.warehouse.lake_backend import LakeWarehouse
from tests.pipelines.builders import at, event, load


@pytest.fixture()
def wh(tmp_path: Path) -> Iterator[LakeWarehouse]:
    warehouse = LakeWarehouse(tmp_path / "lake")
    yield warehouse
    warehouse.close()


def sessions(wh: LakeWarehouse, visitor: str) -> list[dict[str, object]]:
    return wh.query(
        "SELECT toString(day) AS day, source, medium, campaign, channel, events, pageviews, "
        "leads, purchases, revenue, engaged, duration_s FROM {{ ref('sessions') }} "
        "WHERE visitor_id = {v:String} ORDER BY session_start", {"v": visitor})


def test_thirty_minutes_of_inactivity_start_a_session(wh: LakeWarehouse) -> None:
    load(wh, [
        event("v1", at(0), look="search"),
        event("v1", at(29), look="internal"),  # 29 min later: same session
        event("v1", at(58)),                   # 29 min later again: same session
        event("v1", at(88.5)),                 # 30.5 min later: a new session
    ])
    wh.materialize("sessions")
    got = sessions(wh, "v1")
    assert [(s["channel"], s["events"]) for s in got] == [("organic_search", 3), ("direct", 1)]
    assert got[0]["duration_s"] == 58 * 60


def test_a_new_campaign_starts_a_session_but_internal_navigation_does_not(
        wh: LakeWarehouse) -> None:
    load(wh, [
        event("v2", at(0), look="search"),
        event("v2", at(1), look="internal"),   # a click inside the site
        event("v2", at(2), look="search"),     # same source again: same session
        event("v2", at(3), look="email"),      # new campaign within 30 min: new session
        event("v2", at(4), look="email", event="lead", magnet_id="m1"),
        event("v2", at(5), look="paid"),       # and another
    ])
    wh.materialize("sessions")
    got = sessions(wh, "v2")
    assert [(s["channel"], s["source"], s["medium"], s["campaign"], s["events"]) for s in got] == [
        ("organic_search", "google.com", "organic", "", 3),
        ("email", "newsletter", "email", "weekly", 2),
        ("paid_search", "google", "cpc", "brand", 1),
    ]
    assert [s["leads"] for s in got] == [0, 1, 0]


def test_a_campaign_arriving_in_a_direct_session_starts_a_session(wh: LakeWarehouse) -> None:
    load(wh, [event("v3", at(0)), event("v3", at(5)), event("v3", at(6), look="social")])
    wh.materialize("sessions")
    assert [(s["channel"], s["events"]) for s in sessions(wh, "v3")] == [
        ("direct", 2), ("organic_social", 1)]


def test_engagement_revenue_and_ga4_engaged_sessions(wh: LakeWarehouse) -> None:
    load(wh, [
        event("v4", at(0), look="referral"),                       # bounce: not engaged
        event("v4", at(0, days=1), look="email"),                  # 2 page views: engaged
        event("v4", at(0.1, days=1), look="email"),
        event("v4", at(0, days=2), event="purchase", value=49.5),  # a key event: engaged
        event("v4", at(0, days=3)),                                 # 12 s on a page: engaged
        event("v4", at(0.2, days=3), event="click"),
    ])
    wh.materialize("sessions")
    got = sessions(wh, "v4")
    assert [s["channel"] for s in got] == ["referral", "email", "direct", "direct"]
    assert [s["engaged"] for s in got] == [0, 1, 1, 1]
    assert [s["revenue"] for s in got] == [0.0, 0.0, 49.5, 0.0]
    assert [s["purchases"] for s in got] == [0, 0, 1, 0]


def test_a_session_belongs_to_the_day_it_starts_and_partitions_match_a_full_run(
        wh: LakeWarehouse) -> None:
    rows = [
        event("v5", at(14 * 60 + 50)),                # 23:50
        event("v5", at(15 * 60 + 10)),                 # 00:10 next day, same session
        event("v6", at(15 * 60 + 20), look="search"),  # next day
        event("", at(10)),                             # no visitor id: in no session
    ]
    load(wh, rows)
    wh.materialize("sessions")
    full = wh.query("SELECT toString(day) AS day, visitor_id, events FROM {{ ref('sessions') }} "
                    "ORDER BY day, visitor_id")
    assert full == [{"day": "2026-03-02", "visitor_id": "v5", "events": 2},
                    {"day": "2026-03-03", "visitor_id": "v6", "events": 1}]
    files = {f.partition: f.name for f in wh._model_table("sessions").files()}
    assert sorted(files) == ["2026-03-02", "2026-03-03"]
    # recompute only the second day: the first day's file is untouched
    n = wh.materialize("sessions", {"partitioned": True},
                       parameters={"start": "2026-03-03", "end": "2026-03-04"},
                       partitions=["2026-03-03"])
    assert n == 1
    after = {f.partition: f.name for f in wh._model_table("sessions").files()}
    assert after["2026-03-02"] == files["2026-03-02"]
    assert after["2026-03-03"] != files["2026-03-03"]
    assert wh.query("SELECT toString(day) AS day, visitor_id, events FROM "
                    "{{ ref('sessions') }} ORDER BY day, visitor_id") == full
