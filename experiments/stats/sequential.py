"""Always-valid inference: the Gaussian-mixture confidence sequence of gbstats.

This is gbstats' ``SequentialTwoSidedTTest`` (Waudby-Smith et al., "Time-uniform central
limit theory and asymptotic confidence sequences", arXiv:2103.06476v7, eq. 9 and 161)
applied to the delta-method relative lift of ``frequentist.py``. With ``N = n_A + n_B``
users in the two arms, ``V`` the variance of the lift estimate and ``N*`` the tuning
parameter::

    rho        = sqrt((-2 ln(alpha) + ln(-2 ln(alpha) + 1)) / N*)
    half-width = sqrt(V N) * sqrt(2 (N rho^2 + 1) / (N rho)^2 * ln(sqrt(N rho^2 + 1) / alpha))

The interval covers the true lift at every look simultaneously with probability
``>= 1 - alpha``, so it may be inspected after every visitor. ``rho`` is the mixture
width; the formula picks it so that the sequence is tightest (relative to a fixed
``1 - alpha`` interval) when the two arms hold ``N*`` users together. The default
``N* = 5000`` is gbstats'; set it near the total sample size you expect to need.

The always-valid p-value is the smallest ``alpha'`` at which the sequence, with ``rho``
held at its design value, excludes 0. Solving ``half-width(alpha') = |lift|`` gives the
closed form (gbstats' ``1 / e-value`` of the same mixture martingale)::

    p = min(1, sqrt(N rho^2 + 1) * exp(-rho^2 lift^2 N / (2 V (N rho^2 + 1))))

so ``p < alpha`` exactly when the reported sequence excludes 0.

All functions accept floats or numpy arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Num = float | NDArray[np.float64]

DEFAULT_TUNING = 5000.0


def rho(alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """Mixture width making the sequence tightest at ``tuning`` total users (eq. 161)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not tuning > 0:
        raise ValueError(f"the sequential tuning parameter must be > 0, got {tuning!r}")
    log_term = -2 * np.log(alpha)
    return float(np.sqrt((log_term + np.log(log_term + 1)) / tuning))


def half_width(variance: Num, n_total: Num, alpha: Num, rho_: float) -> Num:
    """Half-width of the ``1 - alpha`` confidence sequence (eq. 9).

    Args:
        variance: variance of the lift estimate (``V``).
        n_total: users in the two compared arms (``N``).
        alpha: level of this sequence; may be a multiplicity-adjusted alpha.
        rho_: mixture width, from ``rho(design_alpha, tuning)``.
    """
    n_rho2 = n_total * rho_**2
    return np.sqrt(variance * n_total) * np.sqrt(
        2 * (n_rho2 + 1) * np.log(np.sqrt(n_rho2 + 1) / alpha) / (n_total * rho_) ** 2
    )


def p_value(estimate: Num, variance: Num, n_total: Num, rho_: float) -> Num:
    """Always-valid p-value for H0: lift = 0, consistent with ``half_width``."""
    n_rho2 = n_total * rho_**2
    log_p = 0.5 * np.log(n_rho2 + 1) - rho_**2 * estimate**2 * n_total / (
        2 * variance * (n_rho2 + 1)
    )
    return np.exp(np.minimum(log_p, 0.0))
