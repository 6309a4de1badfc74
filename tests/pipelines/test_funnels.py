"""The funnels model: ordered steps, Wilson intervals and median times, computed by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from statsmodels.stats.proportion import proportion_confint

from kernel.warehouse.lake_backend import LakeWarehouse
from tests.pipelines.builders import at, event, load

M = {"magnet_id": "m1", "experiment_id": "exp", "variant": "A"}


@pytest.fixture()
def wh(tmp_path: Path) -> Iterator[LakeWarehouse]:
    warehouse = LakeWarehouse(tmp_path / "lake")
    yield warehouse
    warehouse.close()


def journeys() -> list[tuple]:  # type: ignore[type-arg]
    rows = []
    # v1..v5 view; v1..v4 start the form 1, 2, 3, 4 minutes later
    for i in range(1, 6):
        rows.append(event(f"v{i}", at(0), "magnet_view", **M))
    for i in range(1, 5):
        rows.append(event(f"v{i}", at(i), "form_start", **M))
    # v1..v3 opt in 60 s after starting the form; v1, v2 confirm; v1 buys after confirming
    for i in range(1, 4):
        rows.append(event(f"v{i}", at(i + 1), "lead", **M))
    rows += [event("v1", at(30), "confirmed", **M), event("v2", at(40), "confirmed", **M),
             event("v1", at(0, days=2), "purchase", value=20.0),
             # v2 bought before confirming: not a funnel purchase
             event("v2", at(35), "purchase", value=10.0)]
    # v6 opted in without a form start: a lead, but not in this strict funnel
    rows += [event("v6", at(0), "magnet_view", **M), event("v6", at(1), "lead", **M)]
    # v7 started the form before viewing (ordering matters): reaches only the view
    rows += [event("v7", at(0), "form_start", **M), event("v7", at(1), "magnet_view", **M)]
    # another variant and another magnet stay apart
    rows += [event("w1", at(0), "magnet_view", magnet_id="m1", experiment_id="exp", variant="B"),
             event("w2", at(0), "magnet_view", magnet_id="m2")]
    return rows


def test_steps_rates_intervals_and_medians(wh: LakeWarehouse) -> None:
    load(wh, journeys())
    wh.materialize("funnels")
    rows = wh.query("SELECT * FROM {{ ref('funnels') }} WHERE magnet_id = 'm1' "
                    "AND variant = 'A' ORDER BY step_index")
    assert [(r["step"], r["visitors"], r["previous_visitors"]) for r in rows] == [
        ("view", 7, 7), ("form_start", 4, 7), ("lead", 3, 4), ("confirmed", 2, 3),
        ("purchase", 1, 2)]
    for r in rows:
        low, high = proportion_confint(r["visitors"], r["previous_visitors"], method="wilson")
        assert r["step_ci_low"] == pytest.approx(low, abs=1e-12)
        assert r["step_ci_high"] == pytest.approx(high, abs=1e-12)
        assert r["step_rate"] == pytest.approx(r["visitors"] / r["previous_visitors"])
        assert r["overall_rate"] == pytest.approx(r["visitors"] / 7)
    # medians (quantileExact takes the upper middle of an even count): form start after
    # 0, 1, 2, 3, 4 min -> v1..v4: 1, 2, 3, 4 -> 3 min; lead 60 s each; confirmation 28 and
    # 37 min after the lead -> 37 min; purchase 2 days after the lead's 30-min confirmation
    assert [r["median_seconds_from_previous"] for r in rows] == [
        None, 180.0, 60.0, 37 * 60.0, 2 * 86400.0 - 30 * 60]
    others = wh.query("SELECT magnet_id, variant, visitors FROM {{ ref('funnels') }} "
                      "WHERE step_index = 1 AND NOT (magnet_id = 'm1' AND variant = 'A') "
                      "ORDER BY magnet_id, variant")
    assert others == [{"magnet_id": "m1", "variant": "B", "visitors": 1},
                      {"magnet_id": "m2", "variant": "", "visitors": 1}]


def test_no_division_by_zero(wh: LakeWarehouse) -> None:
    load(wh, [event("v1", at(0), "magnet_view", magnet_id="m9")])
    wh.materialize("funnels")
    rows = wh.query("SELECT step, visitors, step_rate, step_ci_low, median_seconds_from_previous "
                    "FROM {{ ref('funnels') }} ORDER BY step_index")
    assert rows[1] == {"step": "form_start", "visitors": 0, "step_rate": 0.0,
                       "step_ci_low": 0.0, "median_seconds_from_previous": None}
    assert rows[2]["step_rate"] is None and rows[2]["step_ci_low"] is None  # 0 of 0
