"""Automatic promotion on simulated traffic: the true winner is promoted, the A/A never is."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from experiments.autopilot import promotion_round
from kernel.metadata.models import AuditLog, Experiment, OutboxEvent
from kernel.settings import Settings
from kernel.warehouse import open_warehouse
from lodestone.seed import seed_org
from lodestone.services import init_storage, session_factory
from lodestone.simulate import simulate


def test_sensor_round_promotes_true_winner_and_not_the_aa(settings: Settings) -> None:
    init_storage(settings)
    sessions = session_factory(settings)
    org = seed_org(sessions, settings.data_path)
    wh = open_warehouse(settings)
    truth = simulate([org], 20_000, 30, seed=11, warehouse=wh)
    experiments = truth.orgs["demo"]["experiments"]
    ab_key = next(k for k, e in experiments.items() if e["true_lift"].get("B"))
    aa_key = next(k for k, e in experiments.items() if not e["true_lift"].get("B"))

    with sessions() as s:  # the A/A gets the new rules: a planned MDE and a revenue margin
        row = s.scalar(sa.select(Experiment).where(Experiment.key == aa_key))
        assert row is not None and "revenue" not in (row.guardrail_metrics or [])
        row.mde, row.guardrails = 0.1, [{"metric": "revenue", "margin": 0.1}]
        s.commit()
    with sessions() as s:
        outcomes = {o.experiment_key: o for o in promotion_round(wh, s)}
    assert outcomes[ab_key].promoted and outcomes[ab_key].winner == "B"
    assert not outcomes[aa_key].promoted and outcomes[aa_key].reasons

    with sessions() as s:
        ab = s.scalar(sa.select(Experiment).where(Experiment.key == ab_key))
        aa = s.scalar(sa.select(Experiment).where(Experiment.key == aa_key))
        assert ab is not None and aa is not None
        assert ab.status == "promoted" and ab.winner == "B"
        assert aa.status == "running" and aa.decision and aa.decision["promote"] is False
        assert any("primary" in c["name"] for c in aa.decision["checks"])  # why not: shown per check
        # the rule's metric is read although guardrail_metrics omits it; one plain sentence
        guard = next(g for g in aa.decision["guardrails"] if g["metric"] == "revenue")
        assert guard["test"] == "non-inferiority" and guard["margin"] == 0.1
        assert aa.decision["policy"]["mde"] == 0.1
        assert aa.decision["summary"].startswith("Keep running: ")
        assert ab.decision and ab.decision["summary"].startswith("Promote B: it beats A")
        audit = s.scalars(sa.select(AuditLog).where(AuditLog.resource_id == ab.id)).all()
        assert [a.action for a in audit] == ["experiment.promoted"]
        assert audit[0].actor == "promotion-sensor"
        events = s.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == "experiment.promoted")).all()
        assert len(events) == 1 and events[0].payload["winner"] == "B"

    # a later round leaves the promoted experiment alone and still does not promote the A/A
    with sessions() as s:
        later = promotion_round(wh, s, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert [o.experiment_key for o in later] == [aa_key] and not later[0].promoted
    wh.close()
