"""The promotion guardrails, each a pure function that returns a named ``Check``.

``experiments.promotion.evaluate`` runs them all and promotes only when every one
passes. A check's ``detail`` is the sentence the dashboard shows, with the numbers that
decided it ("runtime 40.0 h < 72 h"); the detail of a failed check is a reason for not
promoting. Nothing here raises on odd input: missing, negative or non-finite numbers
fail the check that needs them, with a message saying so.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from experiments.stats import AnalysisResult, Comparison, VariantData, analyze

if TYPE_CHECKING:
    from experiments.noninferiority import GuardrailRule


@dataclass(frozen=True)
class PromotionPolicy:
    """Thresholds a running experiment must clear before its winner is promoted.

    Attributes:
        min_runtime_hours: hours since ``started_at`` (covers weekly cycles, novelty).
        min_users_per_arm: users every arm of the primary metric must have.
        min_conversions_per_arm: conversions every arm of a binomial primary metric must
            have. The sequential test's relative-lift variance is underestimated with
            ~10 conversions per arm (docs/statistics.md), so early looks are held back.
        alpha: level of the sequential test on the primary metric (Holm across arms).
        srm_threshold: a sample-ratio-mismatch p-value below this blocks promotion.
        guardrail_alpha: level of the sequential harm test on each guardrail metric.
        sequential_tuning: N* for the confidence sequences; None uses analyze's default.
        mde: planned minimum detectable relative effect. When set, the primary metric
            is decided by the one-sided mixture test tuned to it (``stats/mixture.py``,
            faster); None keeps gbstats' two-sided confidence sequence (today's rule).
        guardrail_rules: a margin and a direction per guardrail metric; a guardrail
            with a rule must be shown non-inferior (``experiments/noninferiority.py``),
            one without keeps the "not significantly harmed" test.
    """

    min_runtime_hours: float = 72
    min_users_per_arm: int = 1000
    min_conversions_per_arm: int = 30
    alpha: float = 0.05
    srm_threshold: float = 0.001
    guardrail_alpha: float = 0.05
    sequential_tuning: int | None = None
    mde: float | None = None
    guardrail_rules: tuple[GuardrailRule, ...] = ()

    def problems(self) -> list[str]:
        """Why this policy cannot be applied (empty when it is valid)."""
        out = []
        for name in ("min_runtime_hours", "min_users_per_arm", "min_conversions_per_arm"):
            value = finite_number(getattr(self, name))
            if value is None or value < 0:
                out.append(f"{name} must be a number >= 0, got {getattr(self, name)!r}")
        for name in ("alpha", "guardrail_alpha"):
            value = finite_number(getattr(self, name))
            if value is None or not 0 < value < 1:
                out.append(f"{name} must be in (0, 1), got {getattr(self, name)!r}")
        value = finite_number(self.srm_threshold)
        if value is None or not 0 <= value < 1:
            out.append(f"srm_threshold must be in [0, 1), got {self.srm_threshold!r}")
        if self.sequential_tuning is not None:
            value = finite_number(self.sequential_tuning)
            if value is None or not value > 0:
                out.append(f"sequential_tuning must be > 0 or None, got "
                           f"{self.sequential_tuning!r}")
        if self.mde is not None:
            value = finite_number(self.mde)
            if value is None or not value > 0:
                out.append(f"mde must be a relative effect > 0 or None, got {self.mde!r}")
        out.extend(p for rule in self.guardrail_rules if (p := rule.problem()))
        return out

    def analyze_options(self) -> dict[str, float]:
        """Keyword arguments that pass ``sequential_tuning`` on to ``analyze``."""
        if self.sequential_tuning is None:
            return {}
        return {"sequential_tuning_parameter": float(self.sequential_tuning)}

    def primary_options(self) -> dict[str, Any]:
        """``analyze`` arguments for the primary metric: the mixture test when an MDE is
        planned, else gbstats' sequential test."""
        if self.mde is not None:
            return {"method": "mixture", "mde": float(self.mde)}
        return {"method": "sequential", **self.analyze_options()}


@dataclass(frozen=True)
class MetricData:
    """One metric's aggregates: a ``VariantData`` per arm, the first being control."""

    name: str
    variants: list[VariantData]
    higher_is_better: bool = True


@dataclass(frozen=True)
class Check:
    """One guardrail's verdict; ``detail`` is human-readable and carries the numbers."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class PrimaryOutcome:
    """The primary-metric check plus the arm it points at.

    ``winner`` is the best arm significantly better than control (None if there is
    none); ``candidate`` is the winner, or else the arm with the best point estimate,
    which the guardrail checks describe so the dashboard shows what would block it.
    """

    check: Check
    winner: str | None
    candidate: str | None


def finite_number(x: Any) -> float | None:
    """``x`` as a finite float, or None (bools, strings and NaN/inf are not numbers).

    numpy scalars count (counts from polars or Arrow arrive as ``np.int64``).
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _count(x: Any) -> str:
    value = finite_number(x)
    return "n/a" if value is None else f"{value:,.0f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:+.1f} %"


def _p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _interval(c: Comparison) -> str:
    return f"[{_pct(c.ci_low)}, {_pct(c.ci_high)}]"


def runtime_check(policy: PromotionPolicy, started_at: Any, now: Any) -> Check:
    """The experiment has run for at least ``min_runtime_hours``."""
    if not isinstance(started_at, datetime) or not isinstance(now, datetime):
        return Check("min_runtime", False, "runtime unknown: the experiment has no start "
                                           "time (started_at) or no evaluation time")
    hours = (as_utc(now) - as_utc(started_at)).total_seconds() / 3600
    passed = hours >= policy.min_runtime_hours
    shown = math.floor(hours * 10) / 10  # never print "72.0 h < 72 h"
    sign = "≥" if passed else "<"
    return Check("min_runtime", passed,
                 f"runtime {shown:.1f} h {sign} {policy.min_runtime_hours:g} h")


def _per_arm_check(name: str, what: str, minimum: float,
                   values: Sequence[tuple[str, Any]]) -> Check:
    if not values:
        return Check(name, False, f"{what} per arm: no arms")
    listed = ", ".join(f"{arm} {_count(v)}" for arm, v in values)
    low = [arm for arm, v in values if (n := finite_number(v)) is None or n < minimum]
    if low:
        return Check(name, False, f"{what} per arm below the minimum {minimum:,g}: "
                                  f"{', '.join(low)} ({listed})")
    return Check(name, True, f"{what} per arm ≥ {minimum:,g}: {listed}")


def users_check(policy: PromotionPolicy, variants: Sequence[VariantData]) -> Check:
    """Every arm of the primary metric has at least ``min_users_per_arm`` users."""
    return _per_arm_check("min_users_per_arm", "users", policy.min_users_per_arm,
                          [(v.name, v.users) for v in variants])


def conversions_check(policy: PromotionPolicy, variants: Sequence[VariantData]) -> Check:
    """Every arm has at least ``min_conversions_per_arm`` conversions.

    A continuous metric may carry ``conversions`` too (e.g. purchasers for revenue);
    without them the check does not apply and passes, saying so.
    """
    if variants and all(v.is_continuous and v.conversions is None for v in variants):
        return Check("min_conversions_per_arm", True,
                     "conversions per arm: not applicable (continuous metric without "
                     "conversion counts)")
    return _per_arm_check("min_conversions_per_arm", "conversions",
                          policy.min_conversions_per_arm,
                          [(v.name, v.conversions) for v in variants])


def srm_check(policy: PromotionPolicy, analysis: AnalysisResult | None,
              variants: Sequence[VariantData], weight_error: str | None) -> Check:
    """Users split as configured: the SRM chi-square p-value is at least the threshold."""
    if weight_error:
        return Check("srm", False, f"SRM not checked: {weight_error}")
    p = None if analysis is None else analysis.srm_p_value
    users = ", ".join(f"{v.name} {_count(v.users)}" for v in variants)
    if p is None:
        return Check("srm", False, f"SRM not computable from the user counts ({users})")
    weights = [finite_number(v.expected_weight) for v in variants]
    known = [w for w in weights if w is not None and w > 0]
    shares = ([w / sum(known) for w in known] if len(known) == len(variants)
              else [1 / len(variants)] * len(variants))
    split = " / ".join(f"{s * 100:.1f} %" for s in shares)
    if p < policy.srm_threshold:
        return Check("srm", False, f"sample ratio mismatch (SRM): p = {_p(p)} < "
                                   f"{policy.srm_threshold:g}; users {users} against an "
                                   f"expected split of {split}")
    return Check("srm", True, f"no sample ratio mismatch: SRM p = {_p(p)} ≥ "
                              f"{policy.srm_threshold:g} (users {users}; expected {split})")


def _gain(c: Comparison, higher_is_better: bool) -> float | None:
    """Lift in the good direction (positive = better than control)."""
    if c.lift is None:
        return None
    return c.lift if higher_is_better else -c.lift


def primary_check(policy: PromotionPolicy, metric: MetricData,
                  analysis: AnalysisResult | None, error: str | None) -> PrimaryOutcome:
    """Some arm is significantly better than control on the primary metric.

    Significance is ``analyze``'s sequential decision after its Holm adjustment across
    arms; "better" is the direction ``higher_is_better`` says. The winner is the
    significant arm with the largest gain. When every arm is significantly worse than
    control, the detail says so and suggests rolling back.
    """
    label = f"primary metric {metric.name!r}"
    if error is None and analysis is not None:
        error = analysis.error
    if error is not None or analysis is None:
        return PrimaryOutcome(Check("primary", False, f"{label} cannot be analysed: {error}"),
                              None, None)
    comps = analysis.comparisons
    gains = [(g, c) for c in comps if (g := _gain(c, metric.higher_is_better)) is not None]
    control = comps[0].baseline
    adjusted = " Holm-adjusted" if len(comps) > 1 else ""
    wins = [(g, c) for g, c in gains if c.significant and g > 0]
    if wins:
        _, best = max(wins, key=lambda gc: gc[0])
        detail = (f"{label}: {best.variant} beats {control} by {_pct(best.lift)} "
                  f"(confidence sequence {_interval(best)},{adjusted} p = "
                  f"{_p(best.p_value_adjusted)} < {policy.alpha:g})")
        return PrimaryOutcome(Check("primary", True, detail), best.variant, best.variant)
    if not gains:  # unreachable when analysis.error is None; kept for safety
        return PrimaryOutcome(Check("primary", False, f"{label}: no lift computed"), None, None)
    _, lead = max(gains, key=lambda gc: gc[0])
    if all(c.significant and g < 0 for g, c in gains):
        worst = ", ".join(f"{c.variant} {_pct(c.lift)} (p = {_p(c.p_value_adjusted)})"
                          for _, c in gains)
        detail = (f"control is best; consider rolling back: every variant is significantly "
                  f"worse than {control} on {metric.name!r}: {worst}")
        return PrimaryOutcome(Check("primary", False, detail), None, lead.variant)
    detail = (f"{label}: no variant significantly better than {control} yet; leading "
              f"{lead.variant} {_pct(lead.lift)} (confidence sequence {_interval(lead)},"
              f"{adjusted} p = {_p(lead.p_value_adjusted)} ≥ {policy.alpha:g})")
    return PrimaryOutcome(Check("primary", False, detail), None, lead.variant)


def guardrail_check(policy: PromotionPolicy, metric: MetricData, control: str | None,
                    arm: str | None) -> tuple[Check, dict[str, Any] | None]:
    """``arm`` is not significantly worse than control on a guardrail metric.

    An always-valid harm test: the sequential method on control and ``arm`` alone (no
    adjustment across arms or guardrails, which would only make harm harder to see), at
    ``guardrail_alpha``. Harm is a significant change in the bad direction. A guardrail
    that cannot be evaluated fails: an unverified guardrail does not hold.

    Returns:
        The check and the comparison dict it was decided on (None if there was none).
    """
    name, label = f"guardrail:{metric.name}", f"guardrail {metric.name!r}"
    if arm is None or control is None:
        return Check(name, False, f"{label} not evaluated: no candidate variant"), None
    by_name = {v.name: v for v in metric.variants}
    first = metric.variants[0].name if metric.variants else None
    if first != control:
        return Check(name, False, f"{label} cannot be evaluated: its first arm is "
                                  f"{first!r}, expected the control {control!r}"), None
    if arm not in by_name:
        return Check(name, False, f"{label} cannot be evaluated: no data for {arm!r}"), None
    pair = [replace(by_name[control], expected_weight=None),
            replace(by_name[arm], expected_weight=None)]
    try:
        result = analyze(pair, method="sequential", alpha=policy.guardrail_alpha, adjust=None,
                         **policy.analyze_options())
    except (ValueError, TypeError, ArithmeticError) as exc:
        return Check(name, False, f"{label} cannot be evaluated for {arm}: {exc}"), None
    c = result.comparisons[0] if result.comparisons else None
    if result.error or c is None:
        return Check(name, False, f"{label} cannot be evaluated for {arm}: "
                                  f"{result.error}"), None
    numbers = (f"{arm} vs {control} {_pct(c.lift)} (confidence sequence {_interval(c)}, "
               f"p = {_p(c.p_value)}")
    gain = _gain(c, metric.higher_is_better)
    if c.significant and gain is not None and gain < 0:
        return Check(name, False, f"{label} significantly harmed: {numbers} < "
                                  f"{policy.guardrail_alpha:g})"), c.to_dict()
    return Check(name, True, f"{label} not significantly harmed: {numbers})"), c.to_dict()
