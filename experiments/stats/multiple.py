"""Multiple-comparison adjustment when several variants are compared with the baseline.

* ``holm``: Holm's step-down adjustment controls the family-wise error rate under any
  dependence. Intervals are Bonferroni intervals (level ``1 - alpha/m``); they are
  simultaneous, and slightly conservative relative to Holm's decisions.
* ``bh``: Benjamini-Hochberg controls the false discovery rate (comparisons against a
  shared baseline are positively correlated, the case BH covers). Intervals are the
  false-coverage-rate intervals of Benjamini & Yekutieli (2005): level
  ``1 - R alpha / m`` with ``R`` the number of BH discoveries (Bonferroni when R <= 1),
  so every discovery's interval excludes 0.

Always-valid (sequential) p-values are valid p-values at any stopping time, so both
adjustments apply to them unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (equal to statsmodels' ``multipletests('holm')``)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted.tolist()


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH step-up adjusted p-values (equal to statsmodels' ``multipletests('fdr_bh')``)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted.tolist()


def interval_alpha(method: str | None, adjusted: Sequence[float], alpha: float) -> float:
    """Per-comparison alpha for intervals that match the adjusted decisions.

    Args:
        method: "holm", "bh" or None.
        adjusted: adjusted p-values of all comparisons (only their count matters for
            Holm; BH counts its discoveries).
        alpha: family-level alpha.
    """
    m = len(adjusted)
    if method is None or m <= 1:
        return alpha
    if method == "bh":
        discoveries = sum(1 for p in adjusted if p < alpha)
        return alpha * max(discoveries, 1) / m
    return alpha / m
