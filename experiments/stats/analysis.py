"""``analyze``: every variant against the baseline, with the chosen inference method."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from experiments.stats import bayesian, frequentist, mixture, multiple, sequential
from experiments.stats.cuped import arm_stats, pooled_theta
from experiments.stats.models import (
    Adjust,
    AnalysisResult,
    ArmStats,
    Comparison,
    Method,
    MetricType,
    VariantData,
)
from experiments.stats.srm import SRM_THRESHOLD, srm_p_value
from experiments.stats.validation import (
    check_baseline,
    check_variant_arm,
    check_variants,
    users_are_valid,
)

METHODS = ("fixed", "sequential", "bayesian", "mixture")
ADJUSTMENTS = ("holm", "bh", None)


@dataclass(frozen=True)
class _Draft:
    """A comparison's point estimate before p-values are adjusted across comparisons."""

    arm: ArmStats
    lift: float = 0.0
    variance: float = 0.0
    dof: float | None = None
    variance_reduction: float | None = None
    error: str | None = None


def _check_parameters(method: str, alpha: float, adjust: str | None, tuning: float,
                      mde: float | None) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "mixture" and not (isinstance(mde, int | float) and math.isfinite(mde)
                                    and mde > 0):
        raise ValueError(f"the mixture method needs a planned effect mde > 0, got {mde!r}")
    if adjust not in ADJUSTMENTS:
        raise ValueError(f"adjust must be one of {ADJUSTMENTS}, got {adjust!r}")
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not (isinstance(tuning, int | float) and math.isfinite(tuning) and tuning > 0):
        raise ValueError(f"sequential_tuning_parameter must be > 0, got {tuning!r}")


def _draft(base: ArmStats, arm: ArmStats, raw_base: ArmStats, raw_arm: ArmStats,
           continuous: bool, cuped: bool) -> _Draft:
    message = check_variant_arm(arm)
    if message:
        return _Draft(arm, error=message)
    lift = frequentist.relative_lift(base.mean, arm.mean, base.unadjusted_mean)
    variance = frequentist.relative_variance(
        base.variance, base.unadjusted_mean, base.n, arm.variance, arm.unadjusted_mean, arm.n
    )
    dof = frequentist.welch_dof(base.variance, base.n, arm.variance, arm.n) if continuous else None
    if not (math.isfinite(lift) and math.isfinite(variance) and variance > 0) or (
        dof is not None and not dof > 0
    ):
        return _Draft(arm, error=f"Variant {arm.name!r}: the numbers are too extreme to "
                                 "analyse (overflow or underflow).")
    reduction = None
    if cuped:
        raw = frequentist.relative_variance(
            raw_base.variance, raw_base.unadjusted_mean, raw_base.n,
            raw_arm.variance, raw_arm.unadjusted_mean, raw_arm.n,
        )
        reduction = float(1 - variance / raw) if raw > 0 else None
    return _Draft(arm, float(lift), float(variance), None if dof is None else float(dof),
                  reduction)


def _frequentist(base: ArmStats, drafts: list[_Draft], method: Method, alpha: float,
                 adjust: Adjust | None, tuning: float, mde: float | None) -> list[Comparison]:
    ok = [d for d in drafts if d.error is None]
    rho = sequential.rho(alpha, tuning)

    def p_of(d: _Draft) -> float:
        if method == "sequential":
            return float(sequential.p_value(d.lift, d.variance, base.n + d.arm.n, rho))
        if method == "mixture":
            return float(mixture.p_value(d.lift, d.variance, float(mde or 0)))
        return float(frequentist.p_value(d.lift, d.variance, d.dof))

    raw = [p_of(d) for d in ok]
    if adjust == "holm":
        adjusted = multiple.holm(raw)
    elif adjust == "bh":
        adjusted = multiple.benjamini_hochberg(raw)
    else:
        adjusted = list(raw)
    ci_alpha = multiple.interval_alpha(adjust, adjusted, alpha)
    by_name = {d.arm.name: (p, q) for d, p, q in zip(ok, raw, adjusted, strict=True)}

    out = []
    for d in drafts:
        if d.error is not None:
            out.append(_failed(base, d))
            continue
        p, q = by_name[d.arm.name]
        if method == "sequential":
            width = sequential.half_width(d.variance, base.n + d.arm.n, ci_alpha, rho)
        elif method == "mixture":  # one-sided bound, mirrored above the estimate
            width = d.lift - float(mixture.lower_bound(d.lift, d.variance, ci_alpha,
                                                       float(mde or 0)))
        else:
            width = frequentist.half_width(d.variance, ci_alpha, d.dof)
        out.append(Comparison(
            variant=d.arm.name, baseline=base.name,
            baseline_mean=base.unadjusted_mean, variant_mean=d.arm.unadjusted_mean,
            lift=d.lift, ci_low=d.lift - float(width), ci_high=d.lift + float(width),
            ci_alpha=ci_alpha, p_value=p, p_value_adjusted=q, significant=q < alpha,
            variance_reduction=d.variance_reduction,
        ))
    return out


def _bayesian(base: ArmStats, drafts: list[_Draft], alpha: float,
              exact_beta: bool) -> list[Comparison]:
    out = []
    for d in drafts:
        if d.error is not None:
            out.append(_failed(base, d))
            continue
        if exact_beta:
            post = bayesian.beta_binomial_posterior(
                base.conversions or 0.0, base.n, d.arm.conversions or 0.0, d.arm.n, alpha
            )
        else:
            post = bayesian.normal_posterior(d.lift, d.variance, alpha)
        ctb = post.chance_to_beat
        out.append(Comparison(
            variant=d.arm.name, baseline=base.name,
            baseline_mean=base.unadjusted_mean, variant_mean=d.arm.unadjusted_mean,
            lift=d.lift, ci_low=post.ci_low, ci_high=post.ci_high, ci_alpha=alpha,
            significant=ctb > 1 - alpha / 2 or ctb < alpha / 2,
            chance_to_beat=ctb, expected_loss=post.expected_loss,
            variance_reduction=d.variance_reduction,
        ))
    return out


def _failed(base: ArmStats, d: _Draft) -> Comparison:
    return Comparison(variant=d.arm.name, baseline=base.name,
                      baseline_mean=base.unadjusted_mean, variant_mean=d.arm.unadjusted_mean,
                      error=d.error)


def analyze(
    variants: Sequence[VariantData],
    method: Method = "fixed",
    alpha: float = 0.05,
    adjust: Adjust | None = "holm",
    sequential_tuning_parameter: float = sequential.DEFAULT_TUNING,
    mde: float | None = None,
) -> AnalysisResult:
    """Compare every variant with the first (the baseline) on the relative lift.

    Args:
        variants: aggregated data per arm; the first is the baseline.
        method: "fixed" (fixed-horizon z/Welch-t), "sequential" (always-valid confidence
            sequences, safe under continuous monitoring) or "bayesian".
        alpha: significance level; intervals are at ``1 - alpha`` before adjustment.
        adjust: with several variants, "holm" (family-wise error) or "bh" (false
            discovery rate) adjusted p-values and matching intervals; None to skip.
            Not applied to the bayesian method.
        sequential_tuning_parameter: N*, the total users in two arms at which the
            confidence sequence is tightest (gbstats' default 5000).
        mde: the planned minimum detectable relative effect; required by "mixture"
            (one-sided always-valid test of "variant better", ``stats/mixture.py``),
            whose p-value is 1 for a lift <= 0 and whose ``ci_low`` is the one-sided
            confidence sequence's bound (``ci_high`` mirrors it).

    Returns:
        An ``AnalysisResult``. Degenerate data (no users, no conversions, zero variance,
        negative counts, a single arm, ...) sets ``error`` instead of raising.

    Raises:
        ValueError: only for invalid parameters (unknown method, alpha outside (0, 1)).
    """
    _check_parameters(method, alpha, adjust, sequential_tuning_parameter, mde)
    with np.errstate(all="ignore"):  # overflow becomes inf/NaN, then an error message
        return _analyze(list(variants), method, alpha, adjust, sequential_tuning_parameter,
                        mde if method == "mixture" else None)


def _analyze(variants: list[VariantData], method: Method, alpha: float, adjust: Adjust | None,
             sequential_tuning_parameter: float, mde: float | None = None) -> AnalysisResult:
    metric: MetricType | None = None
    if variants:
        metric = ("ratio" if variants[0].is_ratio else
                  "continuous" if variants[0].is_continuous else "binomial")
    srm = None
    if users_are_valid(variants):
        weights = [float(v.expected_weight) for v in variants if v.expected_weight is not None]
        srm = srm_p_value([v.users for v in variants],
                          weights if len(weights) == len(variants) else None)

    def result(comparisons: list[Comparison], error: str | None) -> AnalysisResult:
        return AnalysisResult(
            method=method, alpha=alpha, metric_type=metric,
            adjust=None if method == "bayesian" else adjust,
            comparisons=comparisons, srm_p_value=srm,
            srm_flag=srm is not None and srm < SRM_THRESHOLD,
            sequential_tuning_parameter=(
                float(sequential_tuning_parameter) if method == "sequential" else None),
            mde=mde, error=error,
        )

    def failed(error: str) -> AnalysisResult:
        names = [v.name for v in variants]
        return result([Comparison(n, names[0], error=error) for n in names[1:]], error)

    error = check_variants(variants)
    if error:
        return failed(error)
    cuped = variants[0].has_covariate
    theta = pooled_theta(variants) if cuped else 0.0
    arms = [arm_stats(v, theta) for v in variants]
    raw = [arm_stats(v) for v in variants]
    error = check_baseline(arms[0])
    if error:
        return failed(error)
    continuous = metric == "continuous"
    drafts = [_draft(arms[0], a, raw[0], r, continuous, cuped)
              for a, r in zip(arms[1:], raw[1:], strict=True)]
    if method == "bayesian":
        comparisons = _bayesian(arms[0], drafts, alpha,
                                exact_beta=metric == "binomial" and not cuped)
    else:
        comparisons = _frequentist(arms[0], drafts, method, alpha, adjust,
                                   sequential_tuning_parameter, mde)
    failures = [f"{c.variant}: {c.error}" for c in comparisons if c.error]
    return result(comparisons, "; ".join(failures) if failures else None)


@dataclass(frozen=True)
class LiftEstimate:
    """Relative lift of the second arm over the first and its delta-method variance.

    The same numbers every frequentist method starts from (CUPED-adjusted when the arms
    carry a covariate); ``error`` is set, and the numbers are None, on degenerate input.
    """

    lift: float | None
    variance: float | None
    error: str | None = None


def lift_estimate(control: VariantData, arm: VariantData) -> LiftEstimate:
    """``arm`` against ``control``: the lift and variance ``analyze`` would test."""
    variants = [control, arm]
    with np.errstate(all="ignore"):
        error = check_variants(variants)
        if error:
            return LiftEstimate(None, None, error)
        cuped = control.has_covariate
        theta = pooled_theta(variants) if cuped else 0.0
        arms = [arm_stats(v, theta) for v in variants]
        raw = [arm_stats(v) for v in variants]
        error = check_baseline(arms[0])
        if error:
            return LiftEstimate(None, None, error)
        d = _draft(arms[0], arms[1], raw[0], raw[1],
                   control.is_continuous and not control.is_ratio, cuped)
    if d.error:
        return LiftEstimate(None, None, d.error)
    return LiftEstimate(d.lift, d.variance)
