"""The planner: its expected figures against the binomial simulation, and the site
traffic it reads from the lake (org-scoped)."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np

from benchmarks.decision_speed import LOOK, decisions, mixture_rejections, simulate_scenario
from experiments.planner import plan
from experiments.stats import frequentist
from experiments.traffic import read_traffic
from kernel.events import make_row, rows_to_arrow
from kernel.settings import Settings
from kernel.warehouse.lake_backend import LakeWarehouse

SCENARIO = dict(looks_per_day=1, max_days=120, min_runtime_days=0, min_users_per_arm=0,
                min_conversions_per_arm=0)  # a look every 500 users/arm at 1,000 a day


def test_expected_figures_match_the_simulation_within_10_percent() -> None:
    p = plan(0.10, 0.05, 2 * LOOK, **SCENARIO)  # type: ignore[arg-type]
    _, lp = simulate_scenario(np.random.default_rng(11), 800)
    sim = decisions(mixture_rejections(lp), lp)
    assert p.sequential is not None and p.fixed is not None
    assert abs(p.sequential.users_per_arm / sim.mean_users - 1) < 0.10
    assert abs(p.sequential.chance_to_decide / sim.correct - 1) < 0.10
    assert p.fixed.users_per_arm == frequentist.required_sample_size(0.05, 0.10)
    assert p.sequential.users_per_arm < p.fixed.users_per_arm
    assert math.isclose(p.fixed.days, p.fixed.users_per_arm / LOOK)


def test_chance_by_date_grows_with_the_date() -> None:
    chances = []
    for days in (2, 5, 20, 40, 60):
        p = plan(0.10, 0.05, 3_000, by_days=days)
        assert p.sequential is not None and p.fixed is not None
        chances.append(p.sequential.chance_by_date)
    assert chances[0] == 0.0 < chances[1]  # nothing before the 3-day minimum runtime
    assert chances == sorted(chances) and chances[-1] == p.sequential.chance_to_decide
    assert p.fixed.chance_by_date == 0.8  # 31,231 per arm at 1,500 a day: 21 days
    assert "3,000 visitors a day" in p.summary and "within 60 days" in p.summary


def test_more_arms_need_more_users() -> None:
    two, four = plan(0.10, 0.05, 3_000), plan(0.10, 0.05, 3_000, arms=4)
    assert two.fixed and four.fixed and two.sequential and four.sequential
    assert four.fixed.users_per_arm > two.fixed.users_per_arm
    assert four.sequential.days > two.sequential.days


def test_bad_inputs_give_an_error_not_nan() -> None:
    for args in [(0.0, 0.05, 1000), (-0.1, 0.05, 1000), (math.nan, 0.05, 1000),
                 (0.1, 0.0, 1000), (0.1, 1.2, 1000), (0.1, 0.05, 0), (0.1, 0.05, math.inf),
                 (2.0, 0.6, 1000)]:
        p = plan(*args)
        assert p.error and p.fixed is None and p.summary.startswith("Cannot plan")
        json.dumps(p.to_dict(), default=str)


T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_traffic_from_the_lake(settings: Settings) -> None:
    rows = []
    for i in range(400):  # 400 visitors over 10 days, 20 of them leads
        ts = int((T0 + dt.timedelta(days=i % 10, minutes=i)).timestamp() * 1000)
        rows.append(make_row(org_id="o", site_id="s1", event="pageview", ts=ts,
                             visitor_id=f"v{i}"))
        rows.append(make_row(org_id="o", site_id="s1", event="pageview", ts=ts + 5,
                             visitor_id=f"v{i}"))  # a second page: still one visitor
        if i % 20 == 0:
            rows.append(make_row(org_id="o", site_id="s1", event="lead", ts=ts + 9,
                                 visitor_id=f"v{i}"))
    rows.append(make_row(org_id="other", site_id="s1", event="lead", ts=int(
        T0.timestamp() * 1000), visitor_id="x"))  # another tenant, same site id
    rows.append(make_row(org_id="o", site_id="s2", event="pageview", ts=int(
        T0.timestamp() * 1000), visitor_id="y"))  # another site
    wh = LakeWarehouse(settings.lake_dir)
    wh.insert_events(rows_to_arrow(rows), "t")
    until = T0 + dt.timedelta(days=20)
    t = read_traffic(wh, "o", "s1", "lead", days=20, until=until)
    assert (t.visitors, t.converters, t.error) == (400, 20, None)
    assert t.users_per_day == 20.0 and t.base_rate == 0.05
    empty = read_traffic(wh, "o", "s3", "lead", days=20, until=until)
    assert empty.error and "no visitors" in empty.error and empty.base_rate is None
    nobody = read_traffic(wh, "o", "s1", "purchase", days=20, until=until)
    assert nobody.error and "'purchase'" in nobody.error
    wh.close()
