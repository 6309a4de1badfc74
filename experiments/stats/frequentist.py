"""Fixed-horizon tests on the relative lift, the way gbstats' frequentist engine does them.

The relative lift of B over A is ``(mean_B - mean_A) / mean_A`` and its variance comes
from the delta method on the ratio of two independent means::

    Var = var_B / (mean_A^2 n_B) + var_A mean_B^2 / (mean_A^4 n_A)

where ``var_*`` are per-user variances (``p(1-p)`` for a conversion rate). A binomial
metric is tested with the normal reference distribution (a two-proportion z-test on the
relative lift); a continuous metric with Student's t on Welch-Satterthwaite degrees of
freedom. The p-value and the interval use the same statistic, so ``p < alpha`` exactly
when the interval excludes 0.

Every function accepts floats or numpy arrays (the simulations call them vectorised).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import stats

Num = float | NDArray[np.float64]


def relative_lift(
    mean_a: Num, mean_b: Num, unadjusted_mean_a: Num | None = None
) -> Num:
    """Relative lift ``(mean_b - mean_a) / mean_a``.

    With CUPED the means are adjusted while the denominator stays the unadjusted
    baseline mean (``unadjusted_mean_a``), as in gbstats.
    """
    denominator = mean_a if unadjusted_mean_a is None else unadjusted_mean_a
    return (mean_b - mean_a) / denominator


def relative_variance(
    var_a: Num, mean_a: Num, n_a: Num,
    var_b: Num, mean_b: Num, n_b: Num,
) -> Num:
    """Delta-method variance of the relative lift (unadjusted means, per-user variances).

    Computed as ``(var_B/n_B + var_A (mean_B/mean_A)^2 / n_A) / mean_A^2``, the same
    quantity arranged to avoid overflow of ``mean_A^4``.
    """
    ratio = mean_b / mean_a
    return (var_b / n_b + var_a * ratio**2 / n_a) / mean_a**2


def welch_dof(var_a: Num, n_a: Num, var_b: Num, n_b: Num) -> Num:
    """Welch-Satterthwaite degrees of freedom (needs n > 1 and a positive variance)."""
    se2_a = var_a / n_a
    se2_b = var_b / n_b
    return (se2_a + se2_b) ** 2 / (se2_a**2 / (n_a - 1) + se2_b**2 / (n_b - 1))


def critical_value(alpha: Num, dof: Num | None = None) -> Num:
    """Two-sided critical value: normal when ``dof`` is None, else Student's t."""
    if dof is None:
        return stats.norm.isf(alpha / 2)
    return stats.t.isf(alpha / 2, dof)


def p_value(estimate: Num, variance: Num, dof: Num | None = None) -> Num:
    """Two-sided p-value of H0: relative lift = 0 (normal if ``dof`` is None, else t)."""
    z = np.abs(estimate) / np.sqrt(variance)
    if dof is None:
        return 2 * stats.norm.sf(z)
    return 2 * stats.t.sf(z, dof)


def half_width(variance: Num, alpha: Num, dof: Num | None = None) -> Num:
    """Half-width of the two-sided ``1 - alpha`` interval around the estimate."""
    return critical_value(alpha, dof) * np.sqrt(variance)


def required_sample_size(
    baseline_rate: float, relative_lift_: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users per arm for a two-proportion z-test to detect ``relative_lift_`` with ``power``.

    The textbook unpooled formula; used by the benchmark to plan the fixed horizon.
    """
    p_a = baseline_rate
    p_b = baseline_rate * (1 + relative_lift_)
    z = float(stats.norm.isf(alpha / 2) + stats.norm.isf(1 - power))
    n = z**2 * (p_a * (1 - p_a) + p_b * (1 - p_b)) / (p_b - p_a) ** 2
    return int(np.ceil(n))
