"""Experiment lifecycle: start, stop, promote, override the winner, roll back.

Used by the API (people and API keys) and by the promotion sensor (``Actor.system``).
Each function validates the transition (``LifecycleError`` names what is allowed),
sets status, winner and timestamps, writes an audit entry with before/after and enqueues
the webhook event -- all in the caller's session, so the caller's commit makes the change,
its audit record and its event visible together (or none of them).

::

    draft --start--> running --stop--> stopped
                        |                 |
                        +----promote------+--> promoted --override_winner--> promoted
                        |                 |        |
                        +---rollback------+--------+--> rolled_back

A promotion with ``holdout_share`` > 0 and ``holdout_days`` > 0 starts a holdout
(``experiments/holdout.py``): that share keeps the control until ``holdout_ends_at``;
:func:`end_holdout` (the sensor, when it ends cleanly) or a roll back stops it. A person
overriding the winner stops it too (their choice is final).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy.orm import Session

from kernel.metadata.audit import Actor, record, snapshot
from kernel.metadata.enums import ExperimentStatus
from kernel.metadata.models import Experiment
from kernel.metadata.outbox import enqueue
from kernel.metadata.types import utcnow

S = ExperimentStatus

#: Statuses each action may start from.
ALLOWED_FROM: dict[str, frozenset[ExperimentStatus]] = {
    "start": frozenset({S.DRAFT}),
    "stop": frozenset({S.RUNNING}),
    "promote": frozenset({S.RUNNING, S.STOPPED}),
    "override_winner": frozenset({S.RUNNING, S.STOPPED, S.PROMOTED}),
    "rollback": frozenset({S.RUNNING, S.STOPPED, S.PROMOTED}),
    "end_holdout": frozenset({S.PROMOTED}),
}


class LifecycleError(ValueError):
    """An action that the experiment's current state does not allow, or bad arguments."""

    def __init__(self, message: str, *, action: str, status: str,
                 allowed_from: list[str] | None = None) -> None:
        super().__init__(message)
        self.action, self.status = action, status
        self.allowed_from = allowed_from or []


def _check(exp: Experiment, action: str) -> None:
    allowed = ALLOWED_FROM[action]
    if exp.status not in allowed:
        names = sorted(s.value for s in allowed)
        raise LifecycleError(
            f"cannot {action.replace('_', ' ')} experiment {exp.key!r}: it is "
            f"{S(exp.status).value}; allowed only when {' or '.join(names)}",
            action=action, status=S(exp.status).value, allowed_from=names,
        )


def variant_keys(exp: Experiment) -> list[str]:
    """The experiment's variant keys in their configured order."""
    return [str(v.get("key")) for v in exp.variants or []]


def validate_variants(variants: list[dict[str, Any]]) -> list[str]:
    """Problems with a variant list (empty when it can run): >= 2 unique keys, weights sum to 1."""
    problems: list[str] = []
    keys = [str(v.get("key", "")) for v in variants]
    if len(variants) < 2:
        problems.append("an experiment needs at least two variants")
    if any(not k for k in keys):
        problems.append("every variant needs a non-empty key")
    if len(set(keys)) != len(keys):
        problems.append("variant keys must be unique")
    try:
        weights = [float(v.get("weight", 0)) for v in variants]
    except (TypeError, ValueError):
        return [*problems, "variant weights must be numbers"]
    if any(not math.isfinite(w) or w <= 0 for w in weights):
        problems.append("every variant weight must be a positive number")
    elif variants and abs(sum(weights) - 1.0) > 1e-6:
        problems.append(f"variant weights must sum to 1 (they sum to {sum(weights):g})")
    return problems


def summary(exp: Experiment) -> dict[str, Any]:
    """The experiment as it appears in webhook payloads."""
    return {
        "id": exp.id, "key": exp.key, "name": exp.name, "status": S(exp.status).value,
        "magnet_id": exp.magnet_id, "winner": exp.winner,
        "variants": [{"key": v.get("key"), "name": v.get("name", ""), "weight": v.get("weight")}
                     for v in exp.variants or []],
        "started_at": exp.started_at.isoformat() if exp.started_at else None,
        "stopped_at": exp.stopped_at.isoformat() if exp.stopped_at else None,
        "holdout": {"share": exp.holdout_share, "days": exp.holdout_days,
                    "running": exp.holdout_started_at is not None,
                    "started_at": _iso(exp.holdout_started_at),
                    "ends_at": _iso(exp.holdout_ends_at)},
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _stop_holdout(exp: Experiment, now: dt.datetime) -> None:
    if exp.holdout_started_at is not None:
        exp.holdout_started_at, exp.holdout_ends_at = None, now


def _finish(session: Session, exp: Experiment, actor: Actor, action: str,
            before: dict[str, Any], event_type: str | None, extra: dict[str, Any]) -> Experiment:
    session.flush()
    record(session, org_id=exp.org_id, actor=actor, action=action, resource_type="experiment",
           resource_id=exp.id, before=before, after=snapshot(exp))
    if event_type:
        enqueue(session, exp.org_id, event_type, {"experiment": summary(exp), **extra})
    return exp


def start(session: Session, exp: Experiment, actor: Actor, *, now: dt.datetime | None = None,
          ) -> Experiment:
    """draft -> running: begin assigning visitors (variants must be valid)."""
    _check(exp, "start")
    problems = validate_variants(list(exp.variants or []))
    if problems:
        raise LifecycleError(f"cannot start experiment {exp.key!r}: " + "; ".join(problems),
                             action="start", status=S(exp.status).value)
    before = snapshot(exp)
    exp.status = S.RUNNING
    exp.started_at = now or utcnow()
    exp.stopped_at = None
    return _finish(session, exp, actor, "experiment.started", before, "experiment.started", {})


def stop(session: Session, exp: Experiment, actor: Actor, *, now: dt.datetime | None = None,
         reason: dict[str, Any] | None = None) -> Experiment:
    """running -> stopped: stop assigning; results are kept, no winner is chosen."""
    _check(exp, "stop")
    before = snapshot(exp)
    exp.status = S.STOPPED
    exp.stopped_at = now or utcnow()
    return _finish(session, exp, actor, "experiment.stopped", before, "experiment.stopped",
                   {"reason": reason or {}})


def _winner(exp: Experiment, winner: str, action: str) -> str:
    keys = variant_keys(exp)
    if winner not in keys:
        raise LifecycleError(
            f"cannot {action.replace('_', ' ')} experiment {exp.key!r}: {winner!r} is not one "
            f"of its variants ({', '.join(keys) or 'none'})",
            action=action, status=S(exp.status).value)
    return winner


def promote(session: Session, exp: Experiment, winner: str, actor: Actor,
            reason: dict[str, Any], *, now: dt.datetime | None = None) -> Experiment:
    """running|stopped -> promoted: ``winner`` becomes the served variant.

    Args:
        reason: Why, e.g. the sensor's guardrail evaluation; stored in ``decision``.
    """
    _check(exp, "promote")
    _winner(exp, winner, "promote")
    before = snapshot(exp)
    exp.status = S.PROMOTED
    exp.winner = winner
    exp.stopped_at = exp.stopped_at or now or utcnow()
    # Flat, like the sensor's own decisions (checks, reasons, …); the fixed keys win.
    exp.decision = {**reason, "promote": True, "winner": winner, "override": False}
    share, days = float(exp.holdout_share or 0), int(exp.holdout_days or 0)
    if 0 < share < 1 and days > 0 and winner != variant_keys(exp)[0]:
        exp.holdout_started_at = now or utcnow()
        exp.holdout_ends_at = exp.holdout_started_at + dt.timedelta(days=days)
    return _finish(session, exp, actor, "experiment.promoted", before, "experiment.promoted",
                   {"winner": winner, "override": False, "reason": reason})


def override_winner(session: Session, exp: Experiment, winner: str, actor: Actor,
                    reason: dict[str, Any], *, now: dt.datetime | None = None) -> Experiment:
    """A person picks the winner (also replacing an automatic promotion)."""
    _check(exp, "override_winner")
    _winner(exp, winner, "override_winner")
    if exp.status == S.PROMOTED and exp.winner == winner:
        raise LifecycleError(
            f"experiment {exp.key!r} already serves {winner!r}; nothing to override",
            action="override_winner", status=S(exp.status).value)
    before = snapshot(exp)
    exp.status = S.PROMOTED
    exp.winner = winner
    exp.stopped_at = exp.stopped_at or now or utcnow()
    exp.decision = {**reason, "promote": True, "winner": winner, "override": True,
                    "previous_winner": before.get("winner")}
    _stop_holdout(exp, now or utcnow())
    return _finish(session, exp, actor, "experiment.winner_overridden", before,
                   "experiment.promoted", {"winner": winner, "override": True, "reason": reason})


def rollback(session: Session, exp: Experiment, actor: Actor, *,
             reason: dict[str, Any] | None = None, now: dt.datetime | None = None) -> Experiment:
    """running|stopped|promoted -> rolled_back: everyone is served the control again."""
    _check(exp, "rollback")
    before = snapshot(exp)
    exp.status = S.ROLLED_BACK
    exp.winner = None
    exp.stopped_at = exp.stopped_at or now or utcnow()
    _stop_holdout(exp, now or utcnow())
    reason = reason or {}
    control = str((exp.variants or [{}])[0].get("key", "the control"))
    note = f" ({reason['note']})" if reason.get("note") else ""
    # the one sentence every decision carries for the analyst (experiments/explain.py)
    summary = reason.get("summary") or (
        f"Rolled back{note}: every visitor is served the control, {control}, "
        f"again (it served {before.get('winner') or 'the test arms'}).")
    exp.decision = {**reason, "promote": False, "winner": None, "rolled_back": True,
                    "summary": summary}
    return _finish(session, exp, actor, "experiment.rolled_back", before,
                   "experiment.rolled_back",
                   {"previous_winner": before.get("winner"), "summary": summary,
                    "reason": reason or {}})


def end_holdout(session: Session, exp: Experiment, actor: Actor, result: dict[str, Any], *,
                now: dt.datetime | None = None) -> Experiment:
    """The holdout ended without harm: it stops, the winner is final (served to everyone).

    Args:
        result: the last holdout evaluation; stored as ``decision["holdout"]``.
    """
    _check(exp, "end_holdout")
    if exp.holdout_started_at is None:
        raise LifecycleError(f"experiment {exp.key!r} has no running holdout",
                             action="end_holdout", status=S(exp.status).value)
    before = snapshot(exp)
    _stop_holdout(exp, now or utcnow())
    exp.decision = {**(exp.decision or {}), "holdout": result}
    return _finish(session, exp, actor, "experiment.holdout_ended", before, None, {})
