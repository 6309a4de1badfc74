"""Monte Carlo: the sensor's promotions on simulated experiments, fixed seeds.

``evaluate`` is called at every daily look for 30 days, as the sensor would, until it
promotes. benchmarks/promotion_validation.py runs the same simulation (shared code) with
2,000 experiments and prints the figures; bounds here allow three Monte Carlo standard
errors.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from benchmarks.promotion_validation import Design, run_sensor, simulate
from experiments.promotion import PromotionPolicy

POLICY = PromotionPolicy()
# A true +30 % relative lift at 8 %, ~700 users/arm/day.
LIFT = Design(lifts=(0.0, 0.30), baseline=(0.08, 0.08), users_per_arm_day=(700.0, 700.0))


def _mc_bound(rate: float, experiments: int) -> float:
    return 3 * float(np.sqrt(rate * (1 - rate) / experiments))


def test_a_a_experiments_are_rarely_promoted() -> None:
    # 5-8 % baseline, 300-1,000 users/arm/day, daily looks over 30 days.
    experiments = 400
    paths = simulate(np.random.default_rng(20240601), Design(), experiments)
    promoted = run_sensor(paths, POLICY).promoted.mean()
    assert promoted <= POLICY.alpha + _mc_bound(POLICY.alpha, experiments)


def test_a_a_experiments_on_a_lower_is_better_metric_are_rarely_promoted() -> None:
    # The harder case: the delta method's false positives fall on negative lifts, which
    # are the favourable direction here, and a 1-2 % baseline gives few conversions.
    experiments = 400
    paths = simulate(np.random.default_rng(20240605), Design(baseline=(0.01, 0.02)),
                     experiments)
    promoted = run_sensor(paths, POLICY, higher_is_better=False).promoted.mean()
    assert promoted <= POLICY.alpha + _mc_bound(POLICY.alpha, experiments)


def test_a_true_lift_is_promoted_and_only_the_true_winner() -> None:
    experiments = 400
    paths = simulate(np.random.default_rng(20240602), LIFT,
                     experiments)
    out = run_sensor(paths, POLICY)
    assert out.promoted.mean() >= 0.90
    assert np.all(out.winner[out.promoted] == 1)
    assert out.day[out.promoted].min() >= 3  # the 72 h minimum runtime


def test_with_a_null_third_arm_the_true_winner_is_promoted() -> None:
    experiments = 150
    paths = simulate(np.random.default_rng(20240603),
                     replace(LIFT, lifts=(0.0, 0.30, 0.0)), experiments)
    out = run_sensor(paths, POLICY)
    assert out.promoted.mean() >= 0.90
    assert np.all(out.winner[out.promoted] == 1)


def test_a_harmed_revenue_guardrail_blocks_most_promotions() -> None:
    # Leads +30 %, revenue per visitor -30 %. The guardrail is a "no significant harm"
    # test, so it loses the race when the primary becomes significant first; this pins
    # the size of that gap (see docs/statistics.md, "Automatic promotion").
    experiments = 100
    design = replace(LIFT, purchase_rate=0.10, revenue_lifts=(0.0, -0.30))
    paths = simulate(np.random.default_rng(20240604), design, experiments)
    assert run_sensor(paths, POLICY, guardrail=False).promoted.mean() >= 0.90
    assert run_sensor(paths, POLICY).promoted.mean() <= 0.30
