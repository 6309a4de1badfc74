"""Several treatments: promote the best arm only when it beats every other arm.

With control and ``k - 1`` treatments (``k`` arms), the candidate is the treatment with
the best point estimate. It is promoted only when, for *every* other arm ``j``
(control included), the one-sided always-valid mixture test of "candidate better than
``j``" rejects at ``alpha / (k - 1)``. Family-wise error: promoting an arm that is not
the best needs, for that arm, a false rejection against the best arm, which has chance
at most ``alpha / (k - 1)`` at any stopping time; there are at most ``k - 1`` such arms,
so the chance of promoting any arm that is not the best is at most ``alpha``, however
often the sensor looks. Two arms reduce to the two-arm rule.
"""

from __future__ import annotations

from dataclasses import replace

from experiments.guardrails import Check, MetricData, PrimaryOutcome, PromotionPolicy
from experiments.stats import AnalysisResult, mixture
from experiments.stats.analysis import lift_estimate


def _pct(x: float) -> str:
    return f"{x * 100:+.1f} %"


def _p(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def best_arm_check(policy: PromotionPolicy, metric: MetricData,
                   analysis: AnalysisResult | None, error: str | None) -> PrimaryOutcome:
    """The best treatment beats control and every other treatment (needs ``policy.mde``)."""
    label = f"primary metric {metric.name!r}"
    if error is None and analysis is not None:
        error = analysis.error
    if error is not None or analysis is None or policy.mde is None:
        return PrimaryOutcome(Check("primary", False, f"{label} cannot be analysed: {error}"),
                              None, None)
    sign = 1.0 if metric.higher_is_better else -1.0
    comps = [c for c in analysis.comparisons if c.lift is not None]
    if not comps:
        return PrimaryOutcome(Check("primary", False, f"{label}: no lift computed"), None, None)
    lead = max(comps, key=lambda c: sign * (c.lift or 0.0))
    arms = {v.name: replace(v, expected_weight=None) for v in metric.variants}
    k = len(metric.variants)
    level = policy.alpha / (k - 1)
    results = []
    for other in metric.variants:
        if other.name == lead.variant:
            continue
        est = lift_estimate(arms[other.name], arms[lead.variant])
        if est.lift is None or est.variance is None:
            return PrimaryOutcome(Check("primary", False, f"{label}: {lead.variant} vs "
                                                          f"{other.name}: {est.error}"),
                                  None, lead.variant)
        p = float(mixture.p_value(sign * est.lift, est.variance, float(policy.mde)))
        results.append((other.name, est.lift, p))
    said = ", ".join(f"vs {name} {_pct(lift)} (p = {_p(p)})" for name, lift, p in results)
    beaten = [name for name, _, p in results if p < level]
    if len(beaten) == len(results):
        detail = (f"{label}: {lead.variant} beats every other arm, {said}; each p < "
                  f"{level:.3g} (= {policy.alpha:g} / {k - 1}, one-sided, always-valid)")
        return PrimaryOutcome(Check("primary", True, detail), lead.variant, lead.variant)
    missing = [name for name, _, p in results if p >= level]
    detail = (f"{label}: leading {lead.variant} does not yet beat {', '.join(missing)}: "
              f"{said}; each needs p < {level:.3g} (= {policy.alpha:g} / {k - 1})")
    return PrimaryOutcome(Check("primary", False, detail), None, lead.variant)
