"""The holdout end to end: promotion starts it, the assignment serves the winner to all but
the holdout, the sensor's holdout round reads the warehouse since the promotion and rolls
back on harm (audited, webhook with numbers and sentence) or ends it cleanly."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from experiments import lifecycle
from experiments.assignment import assign, hash_unit
from experiments.autopilot import SENSOR_ACTOR, holdout_round
from ingestion.registry import experiment_config
from kernel.events import make_row, rows_to_arrow
from kernel.metadata.enums import ExperimentStatus
from kernel.metadata.models import AuditLog, Experiment, Organization, OutboxEvent
from kernel.settings import Settings
from kernel.warehouse.lake_backend import LakeWarehouse
from lodestone.services import init_storage, session_factory

PROMOTED_AT = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
VARIANTS = [{"key": "A", "weight": 1 / 3}, {"key": "B", "weight": 1 / 3},
            {"key": "C", "weight": 1 / 3}]


def _events(key: str, rev_a: float, rev_b: float) -> list[dict[str, object]]:
    """400 holdout (A) and 800 winner (B) visitors after the promotion, a third buying;
    before it, B visitors who spent a lot (must not count)."""
    rows = []
    t0 = int(PROMOTED_AT.timestamp() * 1000)
    for arm, n, value in (("A", 400, rev_a), ("B", 800, rev_b)):
        for i in range(n):
            vid, t = f"{key}-{arm}{i}", t0 + 60_000 + i
            rows.append(make_row(org_id="org", event="exposure", ts=t, visitor_id=vid,
                                 experiment_id=key, variant=arm))
            if i % 3 == 0:
                rows.append(make_row(org_id="org", event="purchase", ts=t + 5, visitor_id=vid,
                                     value=value + (i % 7), experiment_id=key, variant=arm))
    for i in range(300):  # before the promotion
        vid = f"{key}-old{i}"
        rows.append(make_row(org_id="org", event="exposure", ts=t0 - 86_400_000,
                             visitor_id=vid, experiment_id=key, variant="B"))
        rows.append(make_row(org_id="org", event="purchase", ts=t0 - 86_000_000,
                             visitor_id=vid, value=500.0, experiment_id=key, variant="B"))
    return rows


def test_promotion_holdout_then_roll_back_or_final(settings: Settings) -> None:
    init_storage(settings)
    sessions = session_factory(settings)
    wh = LakeWarehouse(settings.lake_dir)
    wh.insert_events(rows_to_arrow(_events("harm", 20.0, 10.0) + _events("fine", 20.0, 20.0)),
                     "t")
    with sessions() as s:
        s.add(Organization(id="org", name="Lab", slug="lab"))
        s.flush()
        for key in ("harm", "fine", "none"):
            exp = Experiment(org_id="org", key=key, name=key, variants=VARIANTS,
                             status=ExperimentStatus.RUNNING, guardrail_metrics=["revenue"],
                             guardrails=[{"metric": "revenue", "margin": 0.15}],
                             holdout_share=0.0 if key == "none" else 0.1, holdout_days=14,
                             started_at=PROMOTED_AT - dt.timedelta(days=7))
            s.add(exp)
            s.flush()
            lifecycle.promote(s, exp, "B", SENSOR_ACTOR, {"summary": "Promote B."},
                              now=PROMOTED_AT)
        s.commit()

    with sessions() as s:
        exps = {e.key: e for e in s.scalars(sa.select(Experiment))}
        assert exps["harm"].holdout_started_at == PROMOTED_AT
        assert exps["harm"].holdout_ends_at == PROMOTED_AT + dt.timedelta(days=14)
        assert exps["none"].holdout_started_at is None  # share 0: a promotion is final
        assert experiment_config(exps["none"])["p"] == 1  # type: ignore[index]
        cfg = experiment_config(exps["harm"])
        assert cfg is not None and "p" not in cfg and cfg["v"] == ["A", "B"]
        # the holdout is the first 10 % of buckets: a subset of the control's range,
        # so nobody in it changes arm; everyone else gets the winner
        for i in range(2_000):
            unit = f"visitor-{i}"
            now_arm = assign(cfg["k"], unit, cfg["v"], cfg["w"], cfg["c"])
            assert now_arm == ("A" if hash_unit("harm", unit) < 0.1 else "B")
            if now_arm == "A":
                assert assign("harm", unit, ["A", "B", "C"]) == "A"

    look = PROMOTED_AT + dt.timedelta(days=2)
    with sessions() as s:
        outcomes = {o.experiment_key: o for o in holdout_round(wh, s, now=look)}
    assert set(outcomes) == {"harm", "fine"}
    assert outcomes["harm"].rolled_back and not outcomes["fine"].rolled_back
    assert not outcomes["fine"].final

    with sessions() as s:
        harm = s.scalar(sa.select(Experiment).where(Experiment.key == "harm"))
        fine = s.scalar(sa.select(Experiment).where(Experiment.key == "fine"))
        assert harm is not None and fine is not None
        assert harm.status == ExperimentStatus.ROLLED_BACK and harm.winner is None
        assert harm.holdout_started_at is None and harm.holdout_ends_at == look
        assert harm.decision and harm.decision["rolled_back"]
        assert harm.decision["summary"].startswith("Roll back: on the holdout that kept A")
        numbers = harm.decision["guardrails"][0]["numbers"]
        assert numbers["lift"] < -0.4 and numbers["p_value"] < 0.05  # the old B buyers excluded
        # (ids are random, not ordered: compare the set of actions, not the last id's)
        audit = s.scalars(sa.select(AuditLog.action).where(AuditLog.resource_id == harm.id)).all()
        assert sorted(audit) == ["experiment.promoted", "experiment.rolled_back"]
        event = s.scalars(sa.select(OutboxEvent).where(
            OutboxEvent.event_type == "experiment.rolled_back")).one()
        assert event.payload["previous_winner"] == "B"
        assert event.payload["summary"] == harm.decision["summary"]
        assert event.payload["reason"]["guardrails"][0]["numbers"]["p_value"] < 0.05
        assert fine.status == ExperimentStatus.PROMOTED
        assert fine.decision and fine.decision["holdout"]["summary"].startswith(
            "Holdout running until 2026-05-15")
        assert fine.decision["summary"] == "Promote B."  # the promotion's decision is kept

    end = PROMOTED_AT + dt.timedelta(days=14)
    with sessions() as s:
        (done,) = holdout_round(wh, s, now=end)
    assert done.experiment_key == "fine" and done.final
    with sessions() as s:
        fine = s.scalar(sa.select(Experiment).where(Experiment.key == "fine"))
        assert fine is not None and fine.status == ExperimentStatus.PROMOTED
        assert fine.holdout_started_at is None and fine.holdout_ends_at == end
        assert fine.decision and fine.decision["holdout"]["final"]
        assert experiment_config(fine) == {"k": "fine", "g": "", "v": ["B"], "w": [1], "c": 1,
                                           "p": 1}
        audit = s.scalars(sa.select(AuditLog.action).where(AuditLog.resource_id == fine.id)).all()
        assert sorted(audit) == ["experiment.holdout_ended", "experiment.promoted"]
        assert holdout_round(wh, s, now=end) == []  # nothing left to watch
    wh.close()
