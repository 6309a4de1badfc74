"""Monte Carlo: error rates under continuous monitoring, and interval coverage.

Looks after every 200 users per arm up to 20,000 (100 looks), 5 % baseline conversion,
2,000 simulated experiments (vectorised: well under a second). Bounds allow three Monte
Carlo standard errors. benchmarks/stats_validation.py runs the same design with more
experiments and adds power.
"""

from __future__ import annotations

import numpy as np

from experiments.stats import frequentist
from experiments.stats.simulation import (
    binomial_lift,
    first_rejection,
    fixed_half_widths,
    fixed_p_values,
    sequential_half_widths,
    sequential_p_values,
    simulate_binomial_paths,
)

ALPHA = 0.05
EXPERIMENTS, LOOKS, PER_LOOK, RATE = 2_000, 100, 200, 0.05


def _mc_bound(experiments: int, rate: float = ALPHA) -> float:
    return 3 * float(np.sqrt(rate * (1 - rate) / experiments))


def test_a_a_false_positive_rate_under_peeking() -> None:
    paths = simulate_binomial_paths(np.random.default_rng(20240501), EXPERIMENTS, LOOKS,
                                    PER_LOOK, RATE, RATE)
    lp = binomial_lift(paths)
    seq_fpr = np.mean(first_rejection(sequential_p_values(lp, ALPHA, 5_000), ALPHA) >= 0)
    fixed_p = fixed_p_values(lp)
    peek_fpr = np.mean(first_rejection(fixed_p, ALPHA) >= 0)
    final_fpr = np.mean(fixed_p[:, -1] < ALPHA)
    bound = _mc_bound(EXPERIMENTS)
    assert seq_fpr <= ALPHA + bound
    assert peek_fpr > ALPHA + bound  # peeking at a fixed-horizon test inflates errors...
    assert peek_fpr > 3 * ALPHA      # ...several-fold with 100 looks
    assert abs(final_fpr - ALPHA) <= bound  # while a single look is calibrated


def test_confidence_sequence_covers_the_true_lift_at_every_look() -> None:
    rate_b = RATE * 1.10
    true_lift = rate_b / RATE - 1
    paths = simulate_binomial_paths(np.random.default_rng(7), EXPERIMENTS, LOOKS, PER_LOOK,
                                    RATE, rate_b)
    lp = binomial_lift(paths)
    miss = np.abs(lp.lift - true_lift) > sequential_half_widths(lp, ALPHA, 5_000)
    miss &= lp.valid
    uniform_coverage = 1 - np.mean(miss.any(axis=1))
    assert uniform_coverage >= 1 - ALPHA - _mc_bound(EXPERIMENTS)
    # the fixed interval, checked at every look, does not have this guarantee
    fixed_miss = (np.abs(lp.lift - true_lift) > fixed_half_widths(lp, ALPHA)) & lp.valid
    assert 1 - np.mean(fixed_miss.any(axis=1)) < 1 - ALPHA - _mc_bound(EXPERIMENTS)


def test_fixed_interval_coverage_at_the_horizon() -> None:
    rng = np.random.default_rng(11)
    experiments, n = 4_000, 20_000
    for rate_b in (RATE, RATE * 1.1):
        paths = simulate_binomial_paths(rng, experiments, 1, n, RATE, rate_b)
        lp = binomial_lift(paths)
        true_lift = rate_b / RATE - 1
        covered = np.abs(lp.lift - true_lift) <= fixed_half_widths(lp, ALPHA)
        assert np.mean(covered[:, 0]) >= 1 - ALPHA - _mc_bound(experiments)


def test_sequential_test_finds_a_real_effect() -> None:
    rate_b = RATE * 1.25
    paths = simulate_binomial_paths(np.random.default_rng(3), 300, LOOKS, PER_LOOK, RATE,
                                    rate_b)
    lp = binomial_lift(paths)
    first = first_rejection(sequential_p_values(lp, ALPHA, 5_000), ALPHA)
    assert np.mean(first >= 0) > 0.8
    # planned fixed horizon for the same effect at 80 % power, in looks of 200 users
    horizon = frequentist.required_sample_size(RATE, 0.25) / PER_LOOK
    assert np.median(first[first >= 0] + 1) < horizon * 1.5
