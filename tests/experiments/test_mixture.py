"""The one-sided mixture SPRT: formula against an independent integral, its bounds, and
its error rate and speed on small simulations (benchmarks/decision_speed.py: full size)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from benchmarks.decision_speed import ALPHA, decisions, mixture_rejections, simulate_scenario
from experiments.stats import VariantData, analyze, mixture
from experiments.stats.analysis import lift_estimate


@pytest.mark.parametrize(("estimate", "variance", "center", "spread"), [
    (0.08, 0.002, 0.10, 0.25), (0.02, 0.0004, 0.10, 1.0), (-0.05, 0.003, 0.05, 0.5),
    (0.30, 0.01, 0.10, 0.25)])
def test_e_value_equals_the_mixture_integral(estimate: float, variance: float, center: float,
                                             spread: float) -> None:
    # independent: integrate the likelihood ratio over the normal mixing density
    info, score, tau = 1 / variance, estimate / variance, spread * center

    def integrand(d: float) -> float:
        return math.exp(d * score - d * d * info / 2) * stats.norm.pdf(d, center, tau)

    expected, _ = integrate.quad(integrand, center - 12 * tau, center + 12 * tau, limit=200)
    got = mixture.log_e_value(estimate, variance, center, spread)
    assert got == pytest.approx(math.log(expected), abs=1e-8)


def test_zero_spread_is_walds_sprt() -> None:
    assert mixture.log_e_value(0.07, 0.001, 0.1, 0.0) == pytest.approx(0.1 * 70 - 0.01 * 500)


def test_bounds_match_the_decisions() -> None:
    rng = np.random.default_rng(3)
    est, var = rng.normal(0.05, 0.05, 2000), rng.uniform(1e-4, 5e-3, 2000)
    p = mixture.p_value(est, var, 0.1)
    low = mixture.lower_bound(est, var, ALPHA, 0.1)
    assert np.array_equal(p < ALPHA, low > 0)
    ni = mixture.noninferiority_p_value(est, var, 0.15)
    ni_low = mixture.noninferiority_bound(est, var, ALPHA, 0.15)
    assert np.array_equal(ni < ALPHA, ni_low > -0.15)
    assert np.all(mixture.p_value(-np.abs(est), var, 0.1) == 1.0)  # never for a loss


def test_analyze_mixture_is_one_sided_and_needs_an_mde() -> None:
    arms = [VariantData("A", 20_000, conversions=1_000), VariantData("B", 20_000,
                                                                     conversions=1_130)]
    result = analyze(arms, method="mixture", mde=0.1)
    c = result.comparisons[0]
    assert c.significant and c.ci_low is not None and c.ci_low > 0 and result.mde == 0.1
    worse = analyze(list(reversed(arms)), method="mixture", mde=0.1).comparisons[0]
    assert worse.p_value == 1.0 and not worse.significant
    with pytest.raises(ValueError, match="mde > 0"):
        analyze(arms, method="mixture")
    with pytest.raises(ValueError, match="mde > 0"):
        analyze(arms, method="mixture", mde=0.0)


def test_cuped_reaches_the_sequential_decision() -> None:
    def arm(name: str, users: int, s: float, pre: float) -> VariantData:
        return VariantData(name, users, sum=s, sum_squares=s * 3, pre_sum=pre,
                           pre_sum_squares=pre * 3, sum_product=min(s, pre) * 2.5)
    plain = [VariantData("A", 5000, sum=5000.0, sum_squares=15000.0),
             VariantData("B", 5000, sum=5300.0, sum_squares=15900.0)]
    cuped = [arm("A", 5000, 5000.0, 5000.0), arm("B", 5000, 5300.0, 5010.0)]
    a = analyze(plain, method="mixture", mde=0.05).comparisons[0]
    b = analyze(cuped, method="mixture", mde=0.05).comparisons[0]
    assert b.variance_reduction is not None and b.variance_reduction > 0.5
    assert b.p_value is not None and a.p_value is not None and b.p_value < a.p_value


def test_lift_estimate_reports_degenerate_input() -> None:
    est = lift_estimate(VariantData("A", 0, conversions=0), VariantData("B", 10, conversions=1))
    assert est.lift is None and est.error and "no users" in est.error


def test_small_simulation_faster_than_fixed_and_within_alpha() -> None:
    rng = np.random.default_rng(20261203)
    n = 600
    _, ab = simulate_scenario(rng, n)
    _, aa = simulate_scenario(rng, n, lift=0.0)
    fig = decisions(mixture_rejections(ab), ab)
    assert fig.mean_users < 31_231  # the fixed horizon planned for 80 % power
    assert fig.correct > 0.85
    false = float(mixture_rejections(aa).any(axis=1).mean())
    assert false <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / n)
