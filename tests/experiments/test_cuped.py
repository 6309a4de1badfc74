"""CUPED: pooled theta, adjusted means and variances checked against raw per-user data."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.stats import VariantData, analyze
from experiments.stats.cuped import arm_stats, pooled_theta


def _arm(name: str, y: np.ndarray, x: np.ndarray) -> VariantData:
    return VariantData(name, y.size, sum=float(y.sum()), sum_squares=float(y @ y),
                       pre_sum=float(x.sum()), pre_sum_squares=float(x @ x),
                       sum_product=float(y @ x))


def _data(seed: int, arms: int, n: int = 3_000, corr: float = 0.7):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(arms):
        x = rng.gamma(2.0, 5.0, n)  # pre-period spend
        y = 2.0 + corr * x + rng.normal(0, 4.0, n) * (1 + 0.1 * k) + 0.4 * k
        out.append((y, x))
    return out


@pytest.mark.parametrize("arms", [2, 3])
def test_theta_means_and_variances_match_raw_data(arms: int) -> None:
    data = _data(1, arms)
    variants = [_arm(chr(65 + k), y, x) for k, (y, x) in enumerate(data)]
    y_all = np.concatenate([y for y, _ in data])
    x_all = np.concatenate([x for _, x in data])
    theta = np.cov(y_all, x_all)[0, 1] / np.var(x_all, ddof=1)  # OLS slope, pooled
    assert pooled_theta(variants) == pytest.approx(theta, rel=1e-9)
    for v, (y, x) in zip(variants, data, strict=True):
        arm = arm_stats(v, theta)
        adjusted = y - theta * x
        assert arm.mean == pytest.approx(adjusted.mean(), rel=1e-9)
        assert arm.variance == pytest.approx(adjusted.var(ddof=1), rel=1e-9)
        assert arm.unadjusted_mean == pytest.approx(y.mean(), rel=1e-12)


def test_variance_reduction_is_reported_and_narrows_the_interval() -> None:
    data = _data(2, 2)
    with_cov = [_arm(chr(65 + k), y, x) for k, (y, x) in enumerate(data)]
    without = [VariantData(v.name, v.users, sum=v.sum, sum_squares=v.sum_squares)
               for v in with_cov]
    c_cov = analyze(with_cov).comparisons[0]
    c_raw = analyze(without).comparisons[0]
    assert c_raw.variance_reduction is None
    assert c_cov.variance_reduction is not None
    width_ratio = (c_cov.ci_high - c_cov.ci_low) / (c_raw.ci_high - c_raw.ci_low)  # type: ignore[operator]
    # interval width scales with the standard error: (1 - reduction) = width ratio^2
    assert c_cov.variance_reduction == pytest.approx(1 - width_ratio**2, abs=1e-3)
    # the covariate explains about corr^2 of the metric's variance here
    r2 = np.corrcoef(np.concatenate([d[0] for d in data]),
                     np.concatenate([d[1] for d in data]))[0, 1] ** 2
    assert c_cov.variance_reduction == pytest.approx(r2, abs=0.05)


def test_cuped_is_unbiased_in_a_simulation() -> None:
    rng = np.random.default_rng(4)
    lifts_cov, lifts_raw = [], []
    for _ in range(200):
        x_a, x_b = rng.gamma(2.0, 5.0, 500), rng.gamma(2.0, 5.0, 500)
        y_a = 2 + 0.7 * x_a + rng.normal(0, 4, 500)
        y_b = 1.1 * (2 + 0.7 * x_b) + rng.normal(0, 4, 500)  # true lift +10 %
        c = analyze([_arm("A", y_a, x_a), _arm("B", y_b, x_b)]).comparisons[0]
        lifts_cov.append(c.lift)
        lifts_raw.append(y_b.mean() / y_a.mean() - 1)
    assert np.mean(lifts_cov) == pytest.approx(0.10, abs=0.01)
    assert np.std(lifts_cov) < 0.8 * np.std(lifts_raw)


def test_constant_covariate_falls_back_to_no_adjustment() -> None:
    rng = np.random.default_rng(0)
    y_a, y_b = rng.normal(10, 2, 100), rng.normal(11, 2, 100)
    x = np.ones(100)
    c = analyze([_arm("A", y_a, x), _arm("B", y_b, x)]).comparisons[0]
    assert c.error is None and c.variance_reduction == 0.0


def test_binomial_metric_with_covariate() -> None:
    rng = np.random.default_rng(8)
    x_a, x_b = rng.poisson(2.0, 4_000).astype(float), rng.poisson(2.0, 4_000).astype(float)
    y_a = (rng.uniform(size=4_000) < 0.01 + 0.05 * x_a).astype(float)
    y_b = (rng.uniform(size=4_000) < 0.015 + 0.05 * x_b).astype(float)
    r2 = np.corrcoef(np.concatenate([y_a, y_b]), np.concatenate([x_a, x_b]))[0, 1] ** 2

    def arm(name: str, y: np.ndarray, x: np.ndarray) -> VariantData:
        return VariantData(name, y.size, conversions=float(y.sum()), pre_sum=float(x.sum()),
                           pre_sum_squares=float(x @ x), sum_product=float(y @ x))

    for method in ("fixed", "sequential", "bayesian"):
        c = analyze([arm("A", y_a, x_a), arm("B", y_b, x_b)],
                    method=method).comparisons[0]  # type: ignore[arg-type]
        assert c.error is None
        assert c.variance_reduction == pytest.approx(r2, abs=0.01)
        assert r2 > 0.03
