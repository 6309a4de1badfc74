"""Confidence sequence: tuning, p-value consistency, agreement of scalar and vector paths."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from experiments.stats import VariantData, analyze, frequentist, sequential, simulation


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
@pytest.mark.parametrize("tuning", [1_000.0, 5_000.0, 60_000.0])
def test_tuning_parameter_is_where_the_sequence_is_tightest(alpha: float, tuning: float) -> None:
    def width(log_rho: float) -> float:
        return float(sequential.half_width(1.0 / tuning, tuning, alpha, float(np.exp(log_rho))))

    best = optimize.minimize_scalar(width, bounds=(-15, 0), method="bounded",
                                    options={"xatol": 1e-10})
    # eq. 161 is a closed-form approximation of the minimiser: within 0.01 % of optimal
    assert width(np.log(sequential.rho(alpha, tuning))) <= best.fun * (1 + 1e-4)


def _smallest_excluding_alpha(lift: float, var: float, n: float, rho: float) -> float:
    """Bisection (in log alpha) for the alpha at which the sequence's edge touches 0."""
    def gap(log_alpha: float) -> float:
        return float(sequential.half_width(var, n, np.exp(log_alpha), rho)) - abs(lift)

    if gap(0.0) >= 0:  # even alpha = 1 does not exclude 0
        return 1.0
    return float(np.exp(optimize.brentq(gap, -700.0, 0.0, xtol=1e-13, rtol=1e-14)))


@pytest.mark.parametrize("seed", range(40))
def test_p_value_is_smallest_alpha_whose_sequence_excludes_zero(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lift, var, n = rng.normal(0, 0.1), rng.uniform(1e-4, 1e-2), rng.uniform(500, 1e5)
    rho = sequential.rho(0.05, 5_000)
    p = float(sequential.p_value(lift, var, n, rho))
    assert p == pytest.approx(_smallest_excluding_alpha(lift, var, n, rho), rel=1e-9)


def test_p_below_alpha_exactly_when_sequence_excludes_zero() -> None:
    rng = np.random.default_rng(9)
    lift = rng.normal(0, 0.08, 100_000)
    var = rng.uniform(1e-4, 3e-3, lift.size)
    n = rng.uniform(200, 2e5, lift.size)
    for alpha in (0.01, 0.05, 0.2):
        rho = sequential.rho(alpha, 5_000)
        p = sequential.p_value(lift, var, n, rho)
        excluded = sequential.half_width(var, n, alpha, rho) < np.abs(lift)
        assert np.array_equal(p < alpha, excluded)


def test_sequence_is_wider_than_the_fixed_interval() -> None:
    n = np.logspace(2, 7, 200)
    rho = sequential.rho(0.05, 5_000)
    ratio = sequential.half_width(1.0 / n, n, 0.05, rho) / frequentist.half_width(1.0 / n, 0.05)
    assert np.all(ratio > 1)
    assert ratio.min() == pytest.approx(ratio[np.argmin(np.abs(n - 5_000))], rel=0.01)


def test_vectorised_core_equals_analyze() -> None:
    rng = np.random.default_rng(3)
    paths = simulation.simulate_binomial_paths(rng, 3, 20, 500, 0.05, 0.06)
    lp = simulation.binomial_lift(paths)
    p = simulation.sequential_p_values(lp, 0.05, 5_000)
    hw = simulation.sequential_half_widths(lp, 0.05, 5_000)
    for e in range(3):
        for k in (0, 7, 19):
            c = analyze([
                VariantData("A", int(paths.users_a[e, k]), conversions=paths.conversions_a[e, k]),
                VariantData("B", int(paths.users_b[e, k]), conversions=paths.conversions_b[e, k]),
            ], method="sequential").comparisons[0]
            assert c.p_value == pytest.approx(p[e, k], rel=1e-12)
            assert c.ci_high - c.lift == pytest.approx(hw[e, k], rel=1e-12)


def test_invalid_tuning_raises() -> None:
    with pytest.raises(ValueError):
        sequential.rho(0.05, 0)
    with pytest.raises(ValueError):
        analyze([VariantData("A", 10, conversions=1)] * 2, sequential_tuning_parameter=-1)
