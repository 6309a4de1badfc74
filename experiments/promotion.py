"""Should a running experiment's winner be promoted now? One pure function decides.

The promotion sensor calls ``evaluate`` every few minutes for every running experiment
and stores ``Decision.to_dict()`` in ``experiments.decision``; the dashboard reads the
checks and reasons from there. A winner is promoted only when every guardrail holds:

1. ``min_runtime``: the experiment has run for ``min_runtime_hours``;
2. ``min_users_per_arm`` and 3. ``min_conversions_per_arm`` on the primary metric;
4. ``srm``: no sample ratio mismatch against the configured split;
5. ``primary``: an arm is significantly better than control with the always-valid
   sequential test (Holm across arms), so looking every few minutes is safe;
6. ``guardrail:<metric>``: that arm is not significantly worse than control on any
   guardrail metric (always-valid harm test).

Every check is evaluated on every call, so the dashboard shows all that blocks an
experiment at once. Odd input never raises: it fails a check and says why.

>>> from datetime import datetime, timedelta
>>> from experiments.stats import VariantData
>>> now = datetime(2024, 5, 10)
>>> leads = MetricData("lead", [VariantData("A", 20_000, conversions=1_000),
...                             VariantData("B", 20_000, conversions=1_300)])
>>> decision = evaluate(PromotionPolicy(), now - timedelta(days=5), now, leads)
>>> decision.promote, decision.winner
(True, 'B')

See docs/statistics.md ("Automatic promotion") for the rules and their validation.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from experiments.explain import summarize
from experiments.guardrails import (
    Check,
    MetricData,
    PromotionPolicy,
    as_utc,
    conversions_check,
    finite_number,
    guardrail_check,
    primary_check,
    runtime_check,
    srm_check,
    users_check,
)
from experiments.multiarm import best_arm_check
from experiments.noninferiority import noninferiority_check, rule_for, rules_from_json
from experiments.stats import AnalysisResult, VariantData, analyze

__all__ = ["Check", "Decision", "MetricData", "PromotionPolicy", "evaluate", "policy_for",
           "variant_weights"]


@dataclass(frozen=True)
class Decision:
    """The outcome of one evaluation; ``to_dict()`` is what ``experiments.decision`` holds.

    ``reasons`` are the details of the failed checks, in check order (empty when
    promoting). ``primary`` is the primary metric's analysis (``AnalysisResult.to_dict``
    plus the metric's name and direction); ``guardrails`` one entry per guardrail
    metric with the comparison its check was decided on.
    """

    promote: bool
    winner: str | None
    checks: list[Check]
    reasons: list[str]
    evaluated_at: datetime
    primary: dict[str, Any] | None
    guardrails: list[dict[str, Any]] = field(default_factory=list)
    policy: PromotionPolicy | None = None
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: ISO timestamps, and None in place of any NaN or infinity."""
        return _json_safe({
            "promote": self.promote,
            "winner": self.winner,
            "summary": self.summary,
            "checks": [asdict(c) for c in self.checks],
            "reasons": list(self.reasons),
            "evaluated_at": self.evaluated_at,
            "primary": self.primary,
            "guardrails": self.guardrails,
            "policy": None if self.policy is None else asdict(self.policy),
        })


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if callable(getattr(value, "item", None)):  # other numpy scalars, e.g. np.bool_
        return _json_safe(value.item())
    return str(value)


def _fields(obj: Any) -> dict[str, Any]:
    """A flat dataclass as a dict; ``asdict``'s deep copy is most of an evaluation's cost."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _with_weights(variants: Sequence[VariantData], weights: Sequence[float] | None,
                  ) -> tuple[list[VariantData], str | None]:
    """The arms with ``expected_weight`` set from ``weights`` (or why that is impossible)."""
    arms = list(variants)
    if weights is None:
        return arms, None
    weights = list(weights)
    if len(weights) != len(arms):
        return arms, f"{len(weights)} expected weights given for {len(arms)} arms"
    if any((w := finite_number(x)) is None or w <= 0 for x in weights):
        return arms, f"expected weights must be positive numbers, got {weights!r}"
    return [replace(v, expected_weight=float(w)) for v, w in zip(arms, weights, strict=True)], None


def _analyze(policy: PromotionPolicy, variants: list[VariantData],
             ) -> tuple[AnalysisResult | None, str | None]:
    try:
        result = analyze(variants, alpha=policy.alpha, adjust="holm",
                         **policy.primary_options())
    except (ValueError, TypeError, ArithmeticError) as exc:  # malformed input, not a bug
        return None, f"analysis failed: {exc}"
    return result, None


def evaluate(
    policy: PromotionPolicy,
    started_at: datetime | None,
    now: datetime,
    primary: MetricData,
    guardrails: Sequence[MetricData] = (),
    expected_weights: Sequence[float] | None = None,
) -> Decision:
    """Decide whether to promote a winner now, with every check and its numbers.

    Args:
        policy: thresholds, usually ``policy_for(experiment)``.
        started_at: when the experiment started (naive datetimes are taken as UTC).
        now: the evaluation time; recorded as ``evaluated_at``.
        primary: the decision metric, one ``VariantData`` per arm, control first.
        guardrails: metrics the winner must not significantly harm; same arm names,
            control first.
        expected_weights: the configured traffic split, one weight per arm in the order
            of ``primary.variants`` (any positive scale). None keeps the arms'
            ``expected_weight`` or, when unset, an equal split.

    Returns:
        A ``Decision``; ``promote`` is True only when every check passed, and then
        ``winner`` names the arm to serve.
    """
    problems = policy.problems()
    if problems:
        check = Check("policy", False, "invalid promotion policy: " + "; ".join(problems))
        return Decision(False, None, [check], [check.detail], now, None, policy=policy,
                        summary=summarize(False, None, [check], None, primary.name))

    variants, weight_error = _with_weights(primary.variants, expected_weights)
    analysis, error = _analyze(policy, variants)
    if policy.mde is not None and len(variants) > 2:  # several treatments: the best one
        outcome = best_arm_check(policy, primary, analysis, error)
    else:
        outcome = primary_check(policy, primary, analysis, error)
    checks = [
        runtime_check(policy, started_at, now),
        users_check(policy, variants),
        conversions_check(policy, variants),
        srm_check(policy, analysis, variants, weight_error),
        outcome.check,
    ]
    control = variants[0].name if variants else None
    guardrail_dicts = []
    for metric in guardrails:
        rule = rule_for(policy.guardrail_rules, metric.name)
        if rule is not None:
            check, numbers = noninferiority_check(rule, policy.guardrail_alpha, metric,
                                                  control, outcome.candidate)
            checks.append(check)
            guardrail_dicts.append({"metric": metric.name, **rule.to_json(),
                                    "higher_is_better": rule.higher_is_better,
                                    "alpha": policy.guardrail_alpha,
                                    "test": "non-inferiority", "numbers": numbers})
            continue
        check, comparison = guardrail_check(policy, metric, control, outcome.candidate)
        checks.append(check)
        guardrail_dicts.append({"metric": metric.name,
                                "higher_is_better": metric.higher_is_better,
                                "alpha": policy.guardrail_alpha, "test": "no significant harm",
                                "comparison": comparison})

    given = {m.name for m in guardrails}
    for rule in policy.guardrail_rules:  # a rule without data is an unverified guardrail
        if rule.metric not in given:
            checks.append(Check(f"guardrail:{rule.metric}", False,
                                f"guardrail {rule.metric!r} has a margin but no data was read "
                                "for it; an unverified guardrail does not hold"))
    promote = outcome.winner is not None and all(c.passed for c in checks)
    primary_dict = None
    if analysis is not None:
        srm_p = analysis.srm_p_value
        primary_dict = {"metric": primary.name, "higher_is_better": primary.higher_is_better,
                        **_fields(analysis),
                        "comparisons": [_fields(c) for c in analysis.comparisons],
                        # the policy's threshold, not analyze's fixed 0.001
                        "srm_flag": srm_p is not None and srm_p < policy.srm_threshold}
    return Decision(
        promote=promote,
        winner=outcome.winner if promote else None,
        checks=checks,
        reasons=[c.detail for c in checks if not c.passed],
        evaluated_at=now,
        primary=primary_dict,
        guardrails=guardrail_dicts,
        policy=policy,
        summary=summarize(promote, outcome.winner, checks, analysis, primary.name),
    )


_POLICY_ATTRIBUTES = {
    "min_runtime_hours": ("min_runtime_hours",),
    "min_users_per_arm": ("min_users_per_arm",),
    "alpha": ("alpha",),
    "srm_threshold": ("srm_threshold",),
    "guardrail_alpha": ("guardrail_alpha",),
    "sequential_tuning": ("sequential_tuning", "sequential_tuning_parameter"),
    "min_conversions_per_arm": ("min_conversions", "min_conversions_per_arm"),
    "mde": ("mde",),
}


def policy_for(experiment: Any) -> PromotionPolicy:
    """The promotion policy of an ``Experiment`` row (or any object with its attributes).

    Attributes that are missing or not numbers (e.g. NULL columns) take the policy's
    defaults. Out-of-range numbers are kept, so that ``evaluate`` reports them as an
    invalid policy instead of silently promoting under different rules.
    """
    values: dict[str, Any] = {}
    for field_name, attributes in _POLICY_ATTRIBUTES.items():
        for attribute in attributes:
            value = getattr(experiment, attribute, None)
            if finite_number(value) is not None:
                values[field_name] = value
                break
    # the stored rules (experiments.guardrails); NULL keeps today's rule
    rules = rules_from_json(getattr(experiment, "guardrails", None))
    return PromotionPolicy(**values, guardrail_rules=rules)


def variant_weights(experiment: Any) -> list[float] | None:
    """Configured split ``[w_control, w_1, ...]`` from ``experiment.variants``, for
    ``evaluate``'s ``expected_weights``; None when any weight is missing."""
    variants = getattr(experiment, "variants", None)
    if not isinstance(variants, list | tuple) or not variants:
        return None
    weights = [finite_number(v.get("weight")) if isinstance(v, dict) else None for v in variants]
    if any(w is None for w in weights):
        return None
    return [float(w) for w in weights if w is not None]
