"""Input checks that turn degenerate data into a readable message instead of a crash."""

from __future__ import annotations

import math
from collections.abc import Sequence

from experiments.stats.models import ArmStats, VariantData

# Relative floor below which a variance counts as zero (float noise of ss - s^2/n).
_ZERO_VARIANCE = 1e-12


def _bad_number(x: float | None) -> bool:
    return x is not None and (isinstance(x, bool) or not math.isfinite(float(x)))


def _check_arm(v: VariantData, continuous: bool, covariate: bool) -> str | None:
    label = f"Variant {v.name!r}"
    fields = (v.users, v.conversions, v.sum, v.sum_squares, v.pre_sum, v.pre_sum_squares,
              v.sum_product, v.expected_weight, v.denominator_sum, v.denominator_sum_squares,
              v.denominator_product)
    if v.users is None or any(_bad_number(x) for x in fields):
        return f"{label} has a missing, infinite or NaN number."
    if v.users < 0:
        return f"{label} has a negative user count ({v.users})."
    if v.users == 0:
        return f"{label} has no users yet."
    if continuous:
        if v.sum is None or v.sum_squares is None:
            return f"{label} needs both sum and sum_squares for a continuous metric."
        if v.sum_squares < 0:
            return f"{label} has a negative sum of squares."
        if v.sum * v.sum > v.sum_squares * v.users * (1 + 1e-9) + 1e-12:
            return f"{label}: sum_squares is smaller than sum^2/users, which is impossible."
    else:
        if v.conversions is None:
            return (f"{label} needs conversions (binomial metric) or sum and sum_squares "
                    "(continuous metric).")
        if v.conversions < 0:
            return f"{label} has a negative number of conversions."
        if v.conversions > v.users:
            return f"{label} has more conversions ({v.conversions}) than users ({v.users})."
    if v.denominator_sum is not None:  # a ratio metric
        if v.denominator_sum_squares is None or v.denominator_product is None:
            return (f"{label}: a ratio metric needs denominator_sum, denominator_sum_squares "
                    "and denominator_product together.")
        if not v.denominator_sum > 0:
            return f"{label} has a denominator sum of zero or below (e.g. no sessions yet)."
        if v.denominator_sum**2 > v.denominator_sum_squares * v.users * (1 + 1e-9) + 1e-12:
            return (f"{label}: denominator_sum_squares is smaller than denominator_sum^2/"
                    "users, which is impossible.")
    if covariate:
        if v.pre_sum is None or v.pre_sum_squares is None or v.sum_product is None:
            return f"{label}: CUPED needs pre_sum, pre_sum_squares and sum_product together."
        if v.pre_sum_squares < 0:
            return f"{label} has a negative pre-period sum of squares."
    if v.expected_weight is not None and not v.expected_weight > 0:
        return f"{label} has a non-positive expected_weight."
    return None


def check_variants(variants: Sequence[VariantData]) -> str | None:
    """Human-readable reason the variants cannot be analysed at all, or None if they can."""
    if len(variants) < 2:
        return "At least two variants are needed: a baseline and one to compare with it."
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        return "Variant names must be unique."
    continuous = variants[0].is_continuous
    if any(v.is_continuous != continuous for v in variants):
        return "All variants must carry the same metric type (all with sum, or none)."
    ratio = variants[0].is_ratio
    if any(v.is_ratio != ratio for v in variants):
        return "All variants must carry the same metric type (all with a denominator, or none)."
    if ratio and not continuous:
        return "A ratio metric needs sum and sum_squares of its numerator in every variant."
    covariate = any(v.has_covariate or v.sum_product is not None for v in variants)
    if ratio and covariate:
        return "CUPED is not supported for ratio metrics; drop the pre-period covariate."
    if covariate and not all(v.has_covariate for v in variants):
        return "CUPED needs the pre-period covariate in every variant, or in none."
    weighted = [v.expected_weight is not None for v in variants]
    if any(weighted) and not all(weighted):
        return "Give expected_weight for every variant, or for none (equal split)."
    for v in variants:
        message = _check_arm(v, continuous, covariate)
        if message:
            return message
    return None


def users_are_valid(variants: Sequence[VariantData]) -> bool:
    """True when user counts are usable for the SRM check even if the metric is not."""
    if any(v.users is None or _bad_number(v.users) or v.users < 0 for v in variants):
        return False
    return sum(v.users for v in variants) > 0


def zero_variance(arm: ArmStats) -> bool:
    """True when the arm's per-user variance is zero (or negative by rounding)."""
    scale = max(arm.unadjusted_mean**2, arm.unadjusted_variance, 1e-300)
    return not arm.variance > _ZERO_VARIANCE * scale


def check_baseline(arm: ArmStats) -> str | None:
    """Reason no relative lift can be computed against this baseline, or None."""
    if not arm.unadjusted_mean > 0:
        return (f"The baseline {arm.name!r} has a mean of zero or below (e.g. no conversions "
                "yet), so a relative lift cannot be computed.")
    if zero_variance(arm):
        return (f"The baseline {arm.name!r} has no variance (every user has the same value, "
                "e.g. all or none converted); the test is uninformative.")
    return None


def check_variant_arm(arm: ArmStats) -> str | None:
    """Reason this variant cannot be compared with the baseline, or None."""
    if zero_variance(arm):
        return (f"Variant {arm.name!r} has no variance (every user has the same value, e.g. "
                "all or none converted); the test is uninformative.")
    return None
