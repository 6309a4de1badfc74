"""Cohorts and conversion paths on hand-made journeys."""

from __future__ import annotations

import datetime as dt
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


def test_cohort_grid_retention_and_value(wh: LakeWarehouse) -> None:
    load(wh, [
        # a: search visit, opts in at 09:01 on Monday; back on day 3 (engaged, week 0),
        # day 9 (a bounce, week 1) and buys on day 10 (week 1: a key event is engaged)
        event("a", at(0), look="search"), event("a", at(1), "lead", look="search", magnet_id="m1"),
        event("a", at(0, days=3)), event("a", at(1, days=3)),
        event("a", at(0, days=9)),
        event("a", at(0, days=10), "purchase", value=50.0),
        # b: first touch social on day 0, buys, then opts in through email on day 1
        event("b", at(60), look="social"), event("b", at(61), "purchase", value=99.0),
        event("b", at(60, days=1), look="email"),
        event("b", at(61, days=1), "lead", look="email", magnet_id="m1"),
        # c: opts in the next week
        event("c", at(0, days=8), look="search"),
        event("c", at(1, days=8), "lead", look="search", magnet_id="m2"),
        # the newest event: 20 days after the start
        event("z", at(0, days=20)),
    ])
    wh.materialize("sessions")
    wh.materialize("cohorts")
    rows = wh.query(
        "SELECT toString(cohort_week) AS week, channel, magnet_id, weeks_since, leads, "
        "leads_observed, returned, engaged, revenue, cumulative_value_per_lead "
        "FROM {{ ref('cohorts') }} ORDER BY week, channel, magnet_id, weeks_since")
    cells = [(r["week"], r["channel"], r["magnet_id"], r["weeks_since"], r["leads"],
              r["leads_observed"], r["returned"], r["engaged"], r["revenue"],
              r["cumulative_value_per_lead"]) for r in rows]
    assert cells == [
        ("2026-03-02", "organic_search", "m1", 0, 1, 1, 1, 1, 0.0, 0.0),
        ("2026-03-02", "organic_search", "m1", 1, 1, 1, 1, 1, 50.0, 50.0),
        ("2026-03-02", "organic_search", "m1", 2, 1, 1, 0, 0, 0.0, 50.0),
        # b's purchase came before the opt-in; the first touch (social) is the channel
        ("2026-03-02", "organic_social", "m1", 0, 1, 1, 0, 0, 0.0, 0.0),
        ("2026-03-02", "organic_social", "m1", 1, 1, 1, 0, 0, 0.0, 0.0),
        ("2026-03-02", "organic_social", "m1", 2, 1, 1, 0, 0, 0.0, 0.0),
        ("2026-03-09", "organic_search", "m2", 0, 1, 1, 0, 0, 0.0, 0.0),
        ("2026-03-09", "organic_search", "m2", 1, 1, 1, 0, 0, 0.0, 0.0),
    ]


def test_paths_up_to_each_lead_and_non_converting_paths(wh: LakeWarehouse) -> None:
    load(wh, [
        # p: search, then email with a first lead, then direct with a second, then paid
        event("p", at(0), look="search"),
        event("p", at(0, days=1), look="email"),
        event("p", at(1, days=1), "lead", look="email", magnet_id="m1"),
        event("p", at(0, days=2)), event("p", at(1, days=2), "lead", magnet_id="m2"),
        event("p", at(0, days=3), look="paid"),
        # q: two leads in one session
        event("q", at(0), look="email"), event("q", at(1), "lead", look="email", magnet_id="m1"),
        event("q", at(2), "lead", look="email", magnet_id="m2"),
        # r and s: never opt in, along the same path
        event("r", at(0), look="search"), event("r", at(0, days=1), look="social"),
        event("s", at(-60), look="search"), event("s", at(0, days=1) - dt.timedelta(hours=1),
                                                  look="social"),
    ])
    wh.materialize("sessions")
    wh.materialize("conversion_paths")
    rows = wh.query(
        "SELECT visitor_id, conversion_index, converted, magnet_id, journeys, path, "
        "touch_times, conversion_time FROM {{ ref('conversion_paths') }} "
        "ORDER BY converted DESC, visitor_id, conversion_index")
    utc = dt.UTC
    got = [(r["visitor_id"], r["conversion_index"], r["converted"], r["magnet_id"],
            r["journeys"], r["path"], [t.replace(tzinfo=utc) for t in r["touch_times"]],
            r["conversion_time"].replace(tzinfo=utc)) for r in rows]
    assert got == [
        ("p", 1, 1, "m1", 1, ["organic_search", "email"], [at(0), at(0, days=1)],
         at(1, days=1)),
        ("p", 2, 1, "m2", 1, ["direct"], [at(0, days=2)], at(1, days=2)),
        ("q", 1, 1, "m1", 1, ["email"], [at(0)], at(1)),
        ("q", 2, 1, "m2", 1, ["email"], [at(0)], at(2)),
        # journeys that never converted are counted per distinct path, without visitor
        ("", 0, 0, "", 2, ["organic_search", "organic_social"], [], at(0, days=1)),
    ]
