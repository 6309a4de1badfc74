"""Guardrails with a margin: promote only when harm beyond the margin is ruled out.

A guardrail rule says how much a metric may lose before the loss counts as harm, e.g.
"revenue per visitor must not drop by more than 15 %" is
``GuardrailRule("revenue", margin=0.15, higher_is_better=True)``. The check is a
sequential (always-valid) non-inferiority test: the winner passes only when the
one-sided confidence sequence of its lift, in the metric's favourable direction, lies
above ``-margin`` (``experiments/stats/mixture.py``). A variant that really loses the
full margin therefore passes at most ``guardrail_alpha`` of the time, however often the
sensor looks. "Not significantly worse" (today's rule for experiments without a margin)
passes whenever the data are too few to see the harm; this rule fails then, and waits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from experiments.guardrails import Check, MetricData, finite_number
from experiments.stats import mixture
from experiments.stats.analysis import lift_estimate

DIRECTIONS = ("higher_is_better", "lower_is_better")


@dataclass(frozen=True)
class GuardrailRule:
    """How much a guardrail metric may lose: ``margin`` is relative (0.15 = 15 %).

    ``higher_is_better`` gives the metric's direction (revenue: True; unsubscribes or
    bounces: False, where harm is a rise).
    """

    metric: str
    margin: float
    higher_is_better: bool = True

    def problem(self) -> str | None:
        """Why this rule cannot be applied, or None."""
        margin = finite_number(self.margin)
        if margin is None or not 0 < margin < 1:
            return (f"guardrail {self.metric!r}: margin must be a number in (0, 1) "
                    f"(a relative loss below 100 %), got {self.margin!r}")
        return None

    def to_json(self) -> dict[str, Any]:
        """The stored form: ``{"metric", "margin", "direction"}``."""
        return {"metric": self.metric, "margin": self.margin,
                "direction": DIRECTIONS[0] if self.higher_is_better else DIRECTIONS[1]}


def rules_from_json(value: Any) -> tuple[GuardrailRule, ...]:
    """Rules from the ``experiments.guardrails`` column (a list of dicts; NULL = none).

    Malformed entries are kept with a NaN margin so that the policy reports them
    instead of silently dropping a guardrail.
    """
    if not isinstance(value, list | tuple):
        return ()
    rules = []
    for item in value:
        if not isinstance(item, Mapping):
            rules.append(GuardrailRule(str(item), math.nan))
            continue
        margin = finite_number(item.get("margin"))
        direction = item.get("direction", DIRECTIONS[0])
        rules.append(GuardrailRule(str(item.get("metric", "")),
                                   math.nan if margin is None else margin,
                                   direction != DIRECTIONS[1]))
    return tuple(rules)


def rule_for(rules: Iterable[GuardrailRule], metric: str) -> GuardrailRule | None:
    """The rule for ``metric``, if the experiment declares one."""
    return next((r for r in rules if r.metric == metric), None)


def _pct(x: float) -> str:
    return f"{x * 100:+.1f} %"


def _p(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def noninferiority_check(rule: GuardrailRule, alpha: float, metric: MetricData,
                         control: str | None, arm: str | None,
                         ) -> tuple[Check, dict[str, Any] | None]:
    """``arm`` loses less than ``rule.margin`` against control on this guardrail.

    Returns:
        The check, and the numbers it was decided on (lift, its always-valid bound,
        margin, p-value) or None when it could not be evaluated. An unverified
        guardrail fails.
    """
    name, label = f"guardrail:{metric.name}", f"guardrail {metric.name!r}"
    problem = rule.problem()
    if problem:
        return Check(name, False, problem), None
    if arm is None or control is None:
        return Check(name, False, f"{label} not evaluated: no candidate variant"), None
    by_name = {v.name: v for v in metric.variants}
    if not metric.variants or metric.variants[0].name != control or arm not in by_name:
        return Check(name, False, f"{label} cannot be evaluated: no data for "
                                  f"{control!r} and {arm!r}"), None
    est = lift_estimate(replace(by_name[control], expected_weight=None),
                        replace(by_name[arm], expected_weight=None))
    if est.error or est.lift is None or est.variance is None:
        return Check(name, False, f"{label} cannot be evaluated for {arm}: {est.error}"), None
    sign = 1.0 if rule.higher_is_better else -1.0
    gain = sign * est.lift
    p = float(mixture.noninferiority_p_value(gain, est.variance, rule.margin))
    bound = float(mixture.noninferiority_bound(gain, est.variance, alpha, rule.margin))
    numbers = {"lift": est.lift, "variance": est.variance, "margin": rule.margin,
               "direction": rule.to_json()["direction"], "p_value": p,
               # the always-valid limit on the harm side, in the metric's own sign
               "harm_bound": sign * bound, "alpha": alpha}
    limit = -rule.margin * sign
    worst = "lowest" if rule.higher_is_better else "highest"
    said = (f"{arm} vs {control} {_pct(est.lift)}, {worst} plausible change "
            f"{_pct(sign * bound)} (always-valid, {1 - alpha:.0%})")
    if p < alpha:
        return Check(name, True, f"{label} holds: {said} is within the allowed "
                                 f"{_pct(limit)} (p = {_p(p)} < {alpha:g})"), numbers
    verdict = ("harmed beyond its margin" if gain + rule.margin < -1e-9
               else "not yet shown to stay within its margin")
    return Check(name, False, f"{label} {verdict}: {said} reaches past the allowed "
                              f"{_pct(limit)} (p = {_p(p)} ≥ {alpha:g})"), numbers
