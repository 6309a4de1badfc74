"""One round of automatic promotion: evaluate every running experiment, promote the winners.

The Dagster sensor (``orchestration/sensors.py``) calls :func:`promotion_round` every few
minutes. A decision that does not promote is stored in ``experiments.decision`` (what the
dashboard shows as "why not yet"); a promotion goes through ``experiments.lifecycle`` so it
writes the audit log and the ``experiment.promoted`` outbox event in the same transaction.
:func:`holdout_round` then watches promoted experiments whose holdout runs
(``experiments/holdout.py``): harm shown rolls back, a clean end makes the winner final.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiments import lifecycle
from experiments.holdout import watch
from experiments.promotion import PromotionPolicy, evaluate, policy_for, variant_weights
from experiments.readout import read_metrics
from kernel.metadata.audit import Actor
from kernel.metadata.enums import ExperimentStatus
from kernel.metadata.models import Experiment
from kernel.telemetry import PROMOTION_DECISIONS
from kernel.warehouse import Warehouse

log = logging.getLogger(__name__)
SENSOR_ACTOR = Actor.system("promotion-sensor")


@dataclass(frozen=True)
class Outcome:
    org_id: str
    experiment_key: str
    promoted: bool
    winner: str | None
    reasons: list[str]
    rolled_back: bool = False
    final: bool = False


def promotion_round(wh: Warehouse, session: Session, now: dt.datetime | None = None) -> list[Outcome]:
    """Evaluate all running experiments of all organizations; commit each one's result."""
    now = now or dt.datetime.now(dt.UTC)
    outcomes = []
    running = session.scalars(
        sa.select(Experiment).where(Experiment.status == ExperimentStatus.RUNNING)
        .order_by(Experiment.org_id, Experiment.key)
    ).all()
    for exp in running:
        variants = [str(v["key"]) for v in exp.variants]
        try:
            policy = policy_for(exp)
            # a metric with a margin is a guardrail even if guardrail_metrics omits it
            metrics = _guardrail_metrics(exp, policy)
            primary, guardrails = read_metrics(
                wh, exp.org_id, exp.key, variants, exp.primary_metric or "lead",
                metrics, until=now, magnet_id=exp.magnet_id or "",
            )
            decision = evaluate(policy, exp.started_at, now, primary, guardrails,
                                variant_weights(exp))
        except Exception as exc:  # one broken experiment must not stop the others
            log.exception("evaluating %s failed", exp.key)
            exp.decision = {"promote": False, "winner": None, "reasons": [f"evaluation failed: {exc}"],
                            "evaluated_at": now.isoformat()}
            session.commit()
            PROMOTION_DECISIONS.labels("error").inc()
            outcomes.append(Outcome(exp.org_id, exp.key, False, None, [str(exc)]))
            continue
        if decision.promote and decision.winner:
            lifecycle.promote(session, exp, decision.winner, SENSOR_ACTOR, decision.to_dict(), now=now)
        else:
            exp.decision = decision.to_dict()
        session.commit()
        promoted = bool(decision.promote and decision.winner)
        PROMOTION_DECISIONS.labels("promoted" if promoted else "not_yet").inc()
        outcomes.append(Outcome(exp.org_id, exp.key, decision.promote, decision.winner,
                                list(decision.reasons)))
    return outcomes


def _guardrail_metrics(exp: Experiment, policy: PromotionPolicy) -> list[str]:
    # a metric with a margin is a guardrail even if guardrail_metrics omits it
    return list(dict.fromkeys([*(exp.guardrail_metrics or []),
                               *(r.metric for r in policy.guardrail_rules)]))


def holdout_round(wh: Warehouse, session: Session, now: dt.datetime | None = None,
                  ) -> list[Outcome]:
    """Look at every promoted experiment whose holdout runs: roll back on harm shown
    (audited, ``experiment.rolled_back`` with the numbers), end it cleanly when its time
    is up, else store the look under ``decision["holdout"]``; commit each."""
    now = now or dt.datetime.now(dt.UTC)
    outcomes = []
    watched = session.scalars(
        sa.select(Experiment).where(Experiment.status == ExperimentStatus.PROMOTED,
                                    Experiment.holdout_started_at.is_not(None))
        .order_by(Experiment.org_id, Experiment.key)
    ).all()
    for exp in watched:
        control, winner = str(exp.variants[0]["key"]), str(exp.winner)
        try:
            policy = policy_for(exp)
            primary, guardrails = read_metrics(
                wh, exp.org_id, exp.key, [control, winner], exp.primary_metric or "lead",
                _guardrail_metrics(exp, policy), until=now, magnet_id=exp.magnet_id or "",
                since=exp.holdout_started_at)
            look = watch(policy, exp.holdout_ends_at, now, control, winner, guardrails,
                         primary)
        except Exception as exc:  # one broken experiment must not stop the others
            log.exception("watching the holdout of %s failed", exp.key)
            exp.decision = {**(exp.decision or {}),
                            "holdout": {"error": f"evaluation failed: {exc}",
                                        "evaluated_at": now.isoformat()}}
            session.commit()
            outcomes.append(Outcome(exp.org_id, exp.key, True, winner, [str(exc)]))
            continue
        result = look.to_dict()
        if look.rollback:
            lifecycle.rollback(session, exp, SENSOR_ACTOR, now=now,
                               reason={**result, "note": "a guardrail was harmed on the holdout"})
        elif look.final:
            lifecycle.end_holdout(session, exp, SENSOR_ACTOR, result, now=now)
        else:
            exp.decision = {**(exp.decision or {}), "holdout": result}
        session.commit()
        outcomes.append(Outcome(exp.org_id, exp.key, not look.rollback,
                                None if look.rollback else winner, result["reasons"],
                                rolled_back=look.rollback, final=look.final))
    return outcomes
