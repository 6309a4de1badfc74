"""After a promotion: watch the guardrails on a holdout and roll back when harm shows.

A promoted experiment with a holdout (``holdout_share`` > 0, ``holdout_days`` > 0) serves
its winner to everyone except that share of visitors, who keep the control (the first
buckets of the control's range, ``ingestion.registry.experiment_config``). The sensor
reads both groups from the promotion on (``experiments/readout.py``, ``since``) and calls
:func:`watch` at every look:

- **roll back** when a guardrail is *shown* to be harmed: the always-valid one-sided test
  of "no harm" (the winner's change in the metric's favourable direction is ``>= 0``)
  rejects at ``guardrail_alpha``. For a guardrail with a margin it is the mixture test of
  ``experiments/stats/mixture.py`` planned for a harm of the margin's size (the same
  machinery as the non-inferiority check that let the winner through), on the difference
  of the means over the pooled mean with the variance pooled under "no difference" (the
  score-test choice: the holdout arm is small and skewed, and the delta method's
  variance shrinks exactly when the control is high by chance, which made a harmless
  winner look harmful in 7.4 % of simulated holdouts instead of 1.6 %); without a margin
  it is the rule the promotion used for that guardrail, "significantly harmed" by
  gbstats' sequence. Being valid under continuous monitoring, a harmless winner is
  rolled back at most ``guardrail_alpha`` of the time however often the sensor looks.
- **final** when the holdout's time is up without a breach: the holdout stops and
  everyone gets the winner.
- otherwise keep watching.

Measured in benchmarks/holdout_validation.py (docs/statistics.md, "Holdout").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from experiments.guardrails import Check, MetricData, PromotionPolicy, as_utc
from experiments.noninferiority import rule_for
from experiments.promotion import _json_safe
from experiments.stats import VariantData, analyze, mixture
from experiments.stats.analysis import lift_estimate


@dataclass(frozen=True)
class HoldoutDecision:
    """One look at a running holdout; ``to_dict()`` is stored under ``decision.holdout``.

    ``checks`` has one entry per guardrail: ``passed`` is False when harm was shown.
    """

    rollback: bool
    final: bool
    checks: list[Check]
    evaluated_at: datetime
    ends_at: datetime | None
    summary: str
    guardrails: list[dict[str, Any]] = field(default_factory=list)
    primary: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, like ``Decision.to_dict``."""
        out: dict[str, Any] = _json_safe({
            "rollback": self.rollback, "final": self.final, "summary": self.summary,
            "checks": [asdict(c) for c in self.checks],
            "reasons": [c.detail for c in self.checks if not c.passed],
            "evaluated_at": self.evaluated_at, "ends_at": self.ends_at,
            "guardrails": self.guardrails, "primary": self.primary,
        })
        return out


def _pct(x: float) -> str:
    return f"{x * 100:+.1f} %"


def _pair(metric: MetricData, control: str, winner: str) -> tuple[Any, Any] | str:
    by_name = {v.name: v for v in metric.variants}
    if control not in by_name or winner not in by_name:
        return f"no data for {control!r} and {winner!r}"
    return (replace(by_name[control], expected_weight=None),
            replace(by_name[winner], expected_weight=None))


def null_estimate(control: VariantData, arm: VariantData) -> tuple[float, float] | None:
    """``(mean_arm - mean_control) / pooled mean`` and its variance with the per-unit
    variance pooled over both arms (as under "no difference"); None when undefined
    (no users, a zero mean or no variance, a ratio metric)."""
    n_a, n_b = control.users, arm.users
    if n_a < 2 or n_b < 2 or control.is_ratio or arm.is_ratio:
        return None
    n = n_a + n_b
    if control.is_continuous:
        total = float(control.sum or 0) + float(arm.sum or 0)
        squares = float(control.sum_squares or 0) + float(arm.sum_squares or 0)
        mean = total / n
        unit_var = max(squares / n - mean * mean, 0.0) * n / (n - 1)
        m_a, m_b = float(control.sum or 0) / n_a, float(arm.sum or 0) / n_b
    else:
        c_a, c_b = float(control.conversions or 0), float(arm.conversions or 0)
        m_a, m_b = c_a / n_a, c_b / n_b
        mean = (c_a + c_b) / n
        unit_var = mean * (1 - mean)
    variance = unit_var * (1 / n_a + 1 / n_b) / (mean * mean) if mean else 0.0
    if not (mean > 0 and variance > 0 and math.isfinite(variance)):
        return None
    return (m_b - m_a) / mean, variance


def harm_check(policy: PromotionPolicy, metric: MetricData, control: str, winner: str,
               ) -> tuple[Check, dict[str, Any] | None]:
    """Is ``winner`` shown to harm this guardrail against the holdout's ``control``?

    Returns:
        The check (``passed`` False = harm shown, the roll-back trigger) and its numbers.
        Too little data, or data that cannot be analysed, never rolls back.
    """
    name, label = f"guardrail:{metric.name}", f"guardrail {metric.name!r}"
    pair = _pair(metric, control, winner)
    if isinstance(pair, str):
        return Check(name, True, f"{label} not evaluated on the holdout yet: {pair}"), None
    rule = rule_for(policy.guardrail_rules, metric.name)
    alpha = policy.guardrail_alpha
    if rule is None or rule.problem():
        higher = metric.higher_is_better if rule is None else rule.higher_is_better
        try:
            result = analyze(list(pair), method="sequential", alpha=alpha, adjust=None,
                             **policy.analyze_options())
        except (ValueError, TypeError, ArithmeticError) as exc:
            return Check(name, True, f"{label} not evaluated on the holdout: {exc}"), None
        c = result.comparisons[0] if result.comparisons else None
        if result.error or c is None or c.lift is None or c.p_value is None:
            return Check(name, True, f"{label} not evaluated on the holdout yet: "
                                     f"{result.error or 'no comparison'}"), None
        gain = c.lift if higher else -c.lift
        numbers = {"lift": c.lift, "p_value": c.p_value, "ci_low": c.ci_low,
                   "ci_high": c.ci_high, "alpha": alpha, "test": "significant harm"}
        said = f"{winner} vs {control} {_pct(c.lift)} (p = {c.p_value:.3g})"
        if c.significant and gain < 0:
            return Check(name, False, f"{label} significantly harmed on the holdout: {said} "
                                      f"< {alpha:g}"), numbers
        return Check(name, True, f"{label} not shown harmed on the holdout: {said}"), numbers
    est, null = lift_estimate(*pair), null_estimate(*pair)
    if est.error or est.lift is None or null is None:
        return Check(name, True, f"{label} not evaluated on the holdout yet: "
                                 f"{est.error or 'no variance'}"), None
    sign = 1.0 if rule.higher_is_better else -1.0
    harm = -sign * null[0]  # > 0 is harm
    p = float(mixture.p_value(harm, null[1], rule.margin))
    numbers = {"lift": est.lift, "difference_over_pooled_mean": null[0],
               "null_variance": null[1], "margin": rule.margin,
               "direction": rule.to_json()["direction"], "p_value": p, "alpha": alpha,
               "test": "harm shown (mixture planned for the margin)"}
    said = (f"{winner} vs {control} {_pct(est.lift)} (always-valid p = {p:.3g} for \"no "
            f"harm\"; margin {_pct(-sign * rule.margin)})")
    if p < alpha:
        return Check(name, False, f"{label} harmed on the holdout: {said} < {alpha:g}"), numbers
    return Check(name, True, f"{label} not shown harmed on the holdout: {said}"), numbers


def watch(policy: PromotionPolicy, ends_at: datetime | None, now: datetime, control: str,
          winner: str, guardrails: Sequence[MetricData],
          primary: MetricData | None = None) -> HoldoutDecision:
    """Decide, at one look during the holdout: roll back, finish, or keep watching.

    Args:
        policy: the experiment's policy (``guardrail_alpha``, margins).
        ends_at: the holdout's planned end (None: it ends now).
        control: the control arm, served to the holdout.
        winner: the promoted arm, served to everyone else.
        guardrails: guardrail metrics read since the promotion, arms ``control`` and
            ``winner``.
        primary: the primary metric on the same groups, reported (never a trigger).
    """
    checks, dicts = [], []
    for metric in guardrails:
        check, numbers = harm_check(policy, metric, control, winner)
        checks.append(check)
        dicts.append({"metric": metric.name, "harm_shown": not check.passed,
                      "numbers": numbers})
    primary_dict = None
    if primary is not None and not isinstance(pair := _pair(primary, control, winner), str):
        est = lift_estimate(*pair)
        primary_dict = {"metric": primary.name, "lift": est.lift, "variance": est.variance,
                        "users": [pair[0].users, pair[1].users], "error": est.error}
    breached = [c for c in checks if not c.passed]
    over = ends_at is None or as_utc(now) >= as_utc(ends_at)
    if breached:
        metrics = ", ".join(repr(c.name.split(":", 1)[1]) for c in breached)
        summary = (f"Roll back: on the holdout that kept {control}, {winner} is shown to harm "
                   f"{metrics} ({breached[0].detail}); every visitor is served {control} again.")
    elif over:
        summary = (f"Holdout over: no guardrail harm was shown against {control}; {winner} is "
                   f"final and now served to every visitor.")
    else:
        until = as_utc(ends_at).date().isoformat() if ends_at is not None else "now"
        summary = (f"Holdout running until {until}: no guardrail is shown harmed by {winner} "
                   f"so far; a breach rolls it back automatically.")
    return HoldoutDecision(rollback=bool(breached), final=not breached and over,
                           checks=checks, evaluated_at=now, ends_at=ends_at, summary=summary,
                           guardrails=dicts, primary=primary_dict)
