"""One plain sentence per decision, for the growth analyst reading the dashboard.

The checks carry the numbers; the sentence says what happens and the main reason, in
words: "Promote B: its lead rate is 12.0 % higher than A's ...", "Keep running: ...".
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments.guardrails import Check
from experiments.stats import AnalysisResult

_WAIT_REASONS = {
    "policy": "the experiment's settings are invalid",
    "min_runtime": "it has not run long enough yet",
    "min_users_per_arm": "some arms have too few visitors yet",
    "min_conversions_per_arm": "some arms have too few conversions yet",
    "srm": "traffic is not split as configured (sample ratio mismatch), so the numbers "
           "cannot be trusted",
    "primary": "no variant is clearly better yet",
}


def _why(check: Check) -> str:
    if check.name.startswith("guardrail:"):
        metric = check.name.split(":", 1)[1]
        if "beyond its margin" in check.detail:
            return f"the candidate harms {metric!r} beyond the allowed margin"
        if "significantly harmed" in check.detail:
            return f"the candidate significantly harms {metric!r}"
        return f"it is not yet shown that {metric!r} stays within its allowed margin"
    if check.name == "primary" and check.detail.startswith("control is best"):
        return "every variant is doing worse than the control"
    if check.name == "primary" and "does not yet beat" in check.detail:
        return "the leading variant does not yet clearly beat every other arm"
    return _WAIT_REASONS.get(check.name, check.name)


def summarize(promote: bool, winner: str | None, checks: Sequence[Check],
              analysis: AnalysisResult | None, metric: str) -> str:
    """The decision in one sentence: promote (with the lift and its guaranteed part) or
    keep running (with every reason, the first one being what to look at first)."""
    if promote and winner is not None and analysis is not None:
        comp = next((c for c in analysis.comparisons if c.variant == winner), None)
        if comp is not None and comp.lift is not None:
            floor = "" if comp.ci_low is None else (
                f" (at least {comp.ci_low * 100:+.1f} % with "
                f"{(1 - analysis.alpha) * 100:g} % confidence, valid however often it was checked)")
            guards = [c for c in checks if c.name.startswith("guardrail:")]
            tail = (", and no guardrail metric is harmed beyond what it allows" if guards
                    else "")
            return (f"Promote {winner}: it beats {comp.baseline} on {metric!r} by "
                    f"{comp.lift * 100:+.1f} %{floor}{tail}.")
        return f"Promote {winner}."
    failed = [c for c in checks if not c.passed]
    if not failed:
        return "Keep running: no variant is clearly better yet."
    reasons = []
    for c in failed:
        why = _why(c)
        if why not in reasons:
            reasons.append(why)
    return "Keep running: " + "; ".join(reasons) + "."
