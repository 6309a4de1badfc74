"""Ratio metrics (numerator and denominator per unit) with the delta method: golden
against statsmodels' generic delta method on the four means, all methods."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats._delta_method import NonlinearDeltaCov

from experiments.stats import VariantData, analyze


def _arm(name: str, x: np.ndarray, y: np.ndarray) -> VariantData:
    return VariantData(name, len(x), sum=float(y.sum()), sum_squares=float((y * y).sum()),
                       denominator_sum=float(x.sum()),
                       denominator_sum_squares=float((x * x).sum()),
                       denominator_product=float((x * y).sum()))


def _units(rng: np.random.Generator, n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    sessions = 1 + rng.poisson(1.5, n).astype(float)  # sessions per visitor
    leads = rng.binomial(sessions.astype(int), rate).astype(float)  # leads per visitor
    return sessions, leads


def _lift(params: np.ndarray) -> np.ndarray:
    ya, xa, yb, xb = params
    return np.array([(yb / xb) / (ya / xa) - 1])


@pytest.mark.parametrize(("n", "rate_b", "alpha"), [(3_000, 0.055, 0.05), (800, 0.05, 0.1),
                                                    (20_000, 0.052, 0.01)])
def test_fixed_interval_equals_statsmodels_delta_method(n: int, rate_b: float,
                                                        alpha: float) -> None:
    rng = np.random.default_rng(n)
    (xa, ya), (xb, yb) = _units(rng, n, 0.05), _units(rng, n + 37, rate_b)
    cov = np.zeros((4, 4))
    cov[:2, :2] = np.cov(np.vstack([ya, xa])) / len(xa)
    cov[2:, 2:] = np.cov(np.vstack([yb, xb])) / len(xb)
    nl = NonlinearDeltaCov(_lift, np.array([ya.mean(), xa.mean(), yb.mean(), xb.mean()]), cov)
    (low, high), = nl.conf_int(alpha=alpha)
    _, p_expected = nl.wald_test(np.array([0.0]))

    result = analyze([_arm("A", xa, ya), _arm("B", xb, yb)], method="fixed", alpha=alpha)
    c = result.comparisons[0]
    assert result.metric_type == "ratio" and result.error is None
    assert c.baseline_mean == pytest.approx(ya.sum() / xa.sum(), rel=1e-12)
    assert c.lift == pytest.approx(nl.predicted()[0], abs=1e-12)
    assert c.ci_low == pytest.approx(low, abs=1e-6) and c.ci_high == pytest.approx(high, abs=1e-6)
    assert c.p_value == pytest.approx(float(p_expected), abs=1e-6)


def test_sequential_mixture_and_bayesian_use_the_same_estimate() -> None:
    rng = np.random.default_rng(1)
    arms = [_arm("A", *_units(rng, 20_000, 0.05)), _arm("B", *_units(rng, 20_000, 0.06))]
    fixed = analyze(arms, method="fixed").comparisons[0]
    for method, extra in (("sequential", {}), ("mixture", {"mde": 0.1}), ("bayesian", {})):
        c = analyze(arms, method=method, **extra).comparisons[0]  # type: ignore[arg-type]
        assert c.lift == fixed.lift and c.error is None
        assert c.ci_low is not None and c.ci_low < fixed.lift  # type: ignore[operator]
    assert analyze(arms, method="mixture", mde=0.1).comparisons[0].significant


def test_ratio_sessions_differ_from_units() -> None:
    # a unit-level conversion rate would be 2/4 against 2/4; per session it is 2/8 vs 2/4
    a = VariantData("A", 4, sum=2.0, sum_squares=2.0, denominator_sum=8.0,
                    denominator_sum_squares=20.0, denominator_product=5.0)
    c = analyze([a, VariantData("B", 4, sum=2.0, sum_squares=2.0, denominator_sum=4.0,
                                denominator_sum_squares=4.0, denominator_product=2.0)]
                ).comparisons[0]
    assert c.baseline_mean == 0.25 and c.variant_mean == 0.5


@pytest.mark.parametrize(("arms", "says"), [
    ([VariantData("A", 10, sum=1.0, sum_squares=1.0, denominator_sum=0.0,
                  denominator_sum_squares=0.0, denominator_product=0.0),
      VariantData("B", 10, sum=1.0, sum_squares=1.0, denominator_sum=5.0,
                  denominator_sum_squares=5.0, denominator_product=1.0)], "denominator sum"),
    ([VariantData("A", 10, sum=1.0, sum_squares=1.0, denominator_sum=5.0),
      VariantData("B", 10, sum=1.0, sum_squares=1.0, denominator_sum=5.0)], "together"),
    ([VariantData("A", 10, sum=1.0, sum_squares=1.0, denominator_sum=5.0,
                  denominator_sum_squares=5.0, denominator_product=1.0),
      VariantData("B", 10, sum=1.0, sum_squares=1.0)], "same metric type"),
    ([VariantData("A", 10, sum=1.0, sum_squares=1.0, denominator_sum=50.0,
                  denominator_sum_squares=5.0, denominator_product=1.0),
      VariantData("B", 10, sum=1.0, sum_squares=1.0, denominator_sum=5.0,
                  denominator_sum_squares=5.0, denominator_product=1.0)], "impossible"),
])
def test_degenerate_ratio_input_is_an_error(arms: list[VariantData], says: str) -> None:
    result = analyze(arms, method="sequential")
    assert result.error and says in result.error
    assert all(c.lift is None for c in result.comparisons)
