"""Several treatments: the best arm must beat every other arm (benchmarks/
multiarm_validation.py simulates it at full size)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from benchmarks.multiarm_validation import POLICY, design
from benchmarks.promotion_validation import run_sensor, simulate
from experiments.promotion import MetricData, PromotionPolicy, evaluate
from experiments.stats import VariantData

NOW = datetime(2024, 5, 10)
START = NOW - timedelta(days=5)


def leads(*conversions: int, higher_is_better: bool = True) -> MetricData:
    return MetricData("lead", [VariantData(n, 20_000, conversions=c)
                               for n, c in zip("ABCDE", conversions, strict=False)],
                      higher_is_better)


def test_best_arm_must_beat_the_runner_up() -> None:
    clear = evaluate(POLICY, START, NOW, leads(1_000, 1_300, 1_150))
    assert clear.promote and clear.winner == "B"
    assert "0.025 (= 0.05 / 2" in clear.checks[4].detail
    close = evaluate(POLICY, START, NOW, leads(1_000, 1_300, 1_280))
    assert not close.promote and "does not yet beat C" in close.checks[4].detail
    assert "does not yet clearly beat every other arm" in close.summary
    # today's rule (no MDE) promotes B there: it beats control
    assert evaluate(PromotionPolicy(), START, NOW, leads(1_000, 1_300, 1_280)).promote


def test_lower_is_better_and_an_empty_arm() -> None:
    low = evaluate(POLICY, START, NOW, leads(1_300, 1_000, 1_290, higher_is_better=False))
    assert low.promote and low.winner == "B"
    empty = MetricData("lead", [VariantData("A", 20_000, conversions=1_000),
                                VariantData("B", 20_000, conversions=1_300),
                                VariantData("C", 0, conversions=0)])
    d = evaluate(POLICY, START, NOW, empty)
    assert not d.promote and "no users" in d.checks[4].detail


def test_small_simulation_equal_arms_rarely_promoted_and_best_found() -> None:
    rng = np.random.default_rng(7)
    equal = run_sensor(simulate(rng, design((0.0, 0.0, 0.0)), 40), POLICY)
    assert equal.promoted.mean() <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 40)
    best = run_sensor(simulate(rng, design((0.0, 0.30, 0.0)), 40), POLICY)
    assert best.promoted.mean() >= 0.9 and np.all(best.winner[best.promoted] == 1)
