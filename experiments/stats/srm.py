"""Sample ratio mismatch: did traffic split the way the experiment was configured?"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

SRM_THRESHOLD = 0.001


def srm_p_value(users: Sequence[float], weights: Sequence[float] | None = None) -> float | None:
    """Chi-square goodness-of-fit p-value of observed users against the expected split.

    Same statistic as gbstats' ``check_srm`` (and ``scipy.stats.chisquare``). A tiny
    p-value (below ``SRM_THRESHOLD``) means assignment or tracking is broken and the
    lift estimates should not be trusted.

    Args:
        users: observed users per arm.
        weights: expected traffic share per arm (any positive scale); equal if None.

    Returns:
        The p-value, or None when it cannot be computed (fewer than two arms, no users,
        or a non-positive weight).
    """
    if len(users) < 2:
        return None
    shares = [1.0] * len(users) if weights is None else [float(w) for w in weights]
    if len(shares) != len(users) or any(not w > 0 for w in shares):
        return None
    total_users = float(sum(users))
    if not total_users > 0 or any(u < 0 for u in users):
        return None
    total_weight = sum(shares)
    observed = np.asarray(users, dtype=float)
    expected = np.asarray(shares) / total_weight * total_users
    with np.errstate(all="ignore"):
        chi2 = float(np.sum((observed - expected) ** 2 / expected))
    if not np.isfinite(chi2):
        return None
    return float(stats.chi2.sf(chi2, len(users) - 1))
