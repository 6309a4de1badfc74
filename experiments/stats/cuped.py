"""Per-arm moments, with CUPED variance reduction when a pre-period covariate is given.

CUPED (Deng et al. 2013) analyses ``Y - theta * X`` instead of ``Y``, where ``X`` is the
same user's pre-experiment value of a covariate. ``theta = cov(Y, X) / var(X)`` is
estimated once, pooled across all arms (for two arms this is gbstats'
``compute_theta``), so the adjustment is the same in every arm and the lift stays
unbiased. The per-user variance becomes ``var(Y) + theta^2 var(X) - 2 theta cov(Y, X)``.
If the pooled covariate or metric has no variance, theta is 0 and nothing is adjusted.

Arithmetic is done in numpy float64 so that extreme inputs overflow to inf/NaN (caught by
the caller) instead of raising. Per-user variances follow gbstats: ``p(1 - p)`` for a conversion rate, the ``n - 1``
sample variance for a continuous metric (0 when ``n <= 1``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from experiments.stats.models import ArmStats, VariantData


def _sample_variance(n: float, total: float, total_squares: float) -> float:
    if n <= 1:
        return 0.0
    return (total_squares - total * total / n) / (n - 1)


def _sample_covariance(n: float, sum_x: float, sum_y: float, sum_xy: float) -> float:
    if n <= 1:
        return 0.0
    return (sum_xy - sum_x * sum_y / n) / (n - 1)


def _metric_sums(v: VariantData) -> tuple[float, float]:
    """(sum, sum of squares) of the metric; a 0/1 conversion is its own square."""
    if v.sum is not None:
        return np.float64(v.sum), np.float64(v.sum_squares or 0.0)
    conversions = np.float64(v.conversions or 0.0)
    return conversions, conversions


def _metric_variance(v: VariantData, n: float, total: float, total_squares: float) -> float:
    if v.is_continuous:
        return _sample_variance(n, total, total_squares)
    p = total / n if n > 0 else 0.0
    return p * (1 - p)


def pooled_theta(variants: Sequence[VariantData]) -> float:
    """CUPED theta = cov(Y, X) / var(X) over all arms pooled; 0 if either has no variance."""
    n = np.float64(sum(float(v.users) for v in variants))
    sums = [_metric_sums(v) for v in variants]
    total = sum(s for s, _ in sums)
    total_squares = sum(ss for _, ss in sums)
    pre_total = np.float64(sum(float(v.pre_sum or 0.0) for v in variants))
    pre_squares = np.float64(sum(float(v.pre_sum_squares or 0.0) for v in variants))
    products = np.float64(sum(float(v.sum_product or 0.0) for v in variants))
    var_post = _metric_variance(variants[0], n, total, total_squares)
    var_pre = _sample_variance(n, pre_total, pre_squares)
    if not (var_pre > 0 and var_post > 0):
        return 0.0
    theta = _sample_covariance(n, total, pre_total, products) / var_pre
    return float(theta) if np.isfinite(theta) else 0.0


def ratio_stats(v: VariantData) -> ArmStats:
    """A ratio metric's value ``R = sum(y) / sum(x)`` and its per-unit delta-method
    variance ``(var(y) - 2 R cov(x, y) + R^2 var(x)) / mean(x)^2`` (so that
    ``Var(R) = variance / n``)."""
    n = np.float64(v.users)
    y, yy = np.float64(v.sum or 0.0), np.float64(v.sum_squares or 0.0)
    x, xx = np.float64(v.denominator_sum or 0.0), np.float64(v.denominator_sum_squares or 0.0)
    ratio = y / x if x > 0 else 0.0
    mean_x = x / n if n > 0 else 0.0
    var = (_sample_variance(n, y, yy) - 2 * ratio * _sample_covariance(
        n, x, y, np.float64(v.denominator_product or 0.0)) + ratio**2 * _sample_variance(n, x, xx))
    variance = var / mean_x**2 if mean_x > 0 else 0.0
    return ArmStats(v.name, n, ratio, ratio, variance, variance, None)


def arm_stats(v: VariantData, theta: float = 0.0) -> ArmStats:
    """Mean and per-user variance of one arm, CUPED-adjusted with ``theta`` if non-zero."""
    if v.is_ratio:
        return ratio_stats(v)
    n = np.float64(v.users)
    total, total_squares = _metric_sums(v)
    mean = total / n if n > 0 else 0.0
    variance = _metric_variance(v, n, total, total_squares)
    conversions = None if v.is_continuous else float(v.conversions or 0.0)
    if theta == 0.0 or not v.has_covariate:
        return ArmStats(v.name, n, mean, mean, variance, variance, conversions)
    pre_total = np.float64(v.pre_sum or 0.0)
    pre_var = _sample_variance(n, pre_total, np.float64(v.pre_sum_squares or 0.0))
    cov = _sample_covariance(n, total, pre_total, np.float64(v.sum_product or 0.0))
    return ArmStats(
        name=v.name,
        n=n,
        mean=mean - theta * (pre_total / n if n > 0 else 0.0),
        unadjusted_mean=mean,
        variance=variance + np.float64(theta) ** 2 * pre_var - 2 * theta * cov,
        unadjusted_variance=variance,
        conversions=conversions,
    )
