"""experiments/holdout.py: the guardrail watch after promotion, on hand-built readouts at
the edges and by seeded simulation (small counts of benchmarks/holdout_validation.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from benchmarks.holdout_validation import holdout_design, run_watch
from benchmarks.promotion_validation import simulate
from experiments.guardrails import MetricData, PromotionPolicy
from experiments.holdout import null_estimate, watch
from experiments.noninferiority import GuardrailRule
from experiments.stats import VariantData

NOW = dt.datetime(2026, 5, 10, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=10)
POLICY = PromotionPolicy(mde=0.1, guardrail_rules=(GuardrailRule("revenue", 0.15),
                                                    GuardrailRule("unsubscribe", 0.2,
                                                                  higher_is_better=False)))


def revenue(n_a: int, mean_a: float, n_b: int, mean_b: float, cv: float = 3.0) -> MetricData:
    """Revenue per visitor with a per-visitor standard deviation of ``cv`` x the mean."""
    def arm(name: str, n: int, m: float) -> VariantData:
        return VariantData(name, n, sum=n * m, sum_squares=n * (m * m + (cv * m) ** 2))
    return MetricData("revenue", [arm("A", n_a, mean_a), arm("B", n_b, mean_b)])


def test_harm_shown_rolls_back_with_numbers_and_a_sentence() -> None:
    look = watch(POLICY, LATER, NOW, "A", "B", [revenue(3_000, 2.0, 57_000, 1.4)])
    assert look.rollback and not look.final
    check, = look.checks
    assert not check.passed and "harmed on the holdout" in check.detail
    numbers = look.guardrails[0]["numbers"]
    assert numbers["lift"] == pytest.approx(-0.30) and numbers["p_value"] < 0.05
    assert look.summary.startswith("Roll back: on the holdout that kept A, B is shown to harm "
                                   "'revenue'") and "served A again" in look.summary
    stored = look.to_dict()
    assert stored["rollback"] is True and stored["reasons"] == [check.detail]


def test_no_harm_keeps_watching_then_ends_final() -> None:
    data = [revenue(3_000, 2.0, 57_000, 2.02)]
    look = watch(POLICY, LATER, NOW, "A", "B", data)
    assert not look.rollback and not look.final and look.checks[0].passed
    assert look.summary.startswith("Holdout running until 2026-05-20")
    end = watch(POLICY, LATER, LATER, "A", "B", data)  # exactly at the end: over
    assert end.final and not end.rollback and "B is final" in end.summary


@pytest.mark.parametrize("data", [
    revenue(0, 0.0, 500, 1.0),        # holdout empty
    revenue(40, 3.0, 800, 1.0),       # a loss of two thirds, but on 40 visitors
    MetricData("revenue", [VariantData("B", 10, sum=1.0, sum_squares=1.0)]),  # no control
    revenue(3_000, 0.0, 57_000, 0.0),  # nobody bought: no variance
])
def test_too_little_or_odd_data_never_rolls_back(data: MetricData) -> None:
    look = watch(POLICY, LATER, NOW, "A", "B", [data])
    assert not look.rollback and look.checks[0].passed


def test_lower_is_better_harm_is_a_rise() -> None:
    def unsub(a: int, b: int) -> MetricData:
        return MetricData("unsubscribe", [VariantData("A", 4_000, conversions=a),
                                          VariantData("B", 76_000, conversions=b)])
    assert watch(POLICY, LATER, NOW, "A", "B", [unsub(200, 5_320)]).rollback  # 5 % -> 7 %
    assert not watch(POLICY, LATER, NOW, "A", "B", [unsub(280, 3_800)]).rollback  # a fall


def test_guardrail_without_margin_uses_significant_harm() -> None:
    leads = MetricData("confirmed", [VariantData("A", 5_000, conversions=500),
                                     VariantData("B", 95_000, conversions=5_700)])
    look = watch(PromotionPolicy(), LATER, NOW, "A", "B", [leads])
    assert look.rollback and "significantly harmed" in look.checks[0].detail


def test_null_estimate_pools_the_variance() -> None:
    a = VariantData("A", 100, conversions=10)
    b = VariantData("B", 300, conversions=60)
    diff, var = null_estimate(a, b)  # type: ignore[misc]
    pooled = 70 / 400
    assert diff == pytest.approx((0.2 - 0.1) / pooled)
    assert var == pytest.approx(pooled * (1 - pooled) * (1 / 100 + 1 / 300) / pooled**2)


def test_simulated_holdouts_roll_back_harm_and_not_a_harmless_winner() -> None:
    """Default holdout (5 %, 30 days, ~70 holdout visitors a day), 60 experiments each:
    the full run (2,000) is in benchmarks/holdout_validation.py."""
    rng = np.random.default_rng(20261207)
    harmful = run_watch(simulate(rng, holdout_design(-0.30), 60))
    harmless = run_watch(simulate(rng, holdout_design(0.0), 60))
    assert (harmful > 0).mean() >= 0.8
    assert (harmless > 0).mean() <= 0.05
