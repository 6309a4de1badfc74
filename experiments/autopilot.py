"""One round of automatic promotion: evaluate every running experiment, promote the winners.

The Dagster sensor (``orchestration/sensors.py``) calls :func:`promotion_round` every few
minutes. A decision that does not promote is stored in ``experiments.decision`` (what the
dashboard shows as "why not yet"); a promotion goes through ``experiments.lifecycle`` so it
writes the audit log and the ``experiment.promoted`` outbox event in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiments import lifecycle
from experiments.promotion import evaluate, policy_for, variant_weights
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
            metrics = list(dict.fromkeys([*(exp.guardrail_metrics or []),
                                          *(r.metric for r in policy.guardrail_rules)]))
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
