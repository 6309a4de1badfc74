"""Migration 0002 (experiment rules): an experiment created before it decides as before."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiments.promotion import MetricData, PromotionPolicy, evaluate, policy_for
from experiments.stats import VariantData
from kernel.metadata import Experiment, make_engine, migrate

NOW = dt.datetime(2024, 5, 10, tzinfo=dt.UTC)
LEADS = MetricData("lead", [VariantData("A", 20_000, conversions=1_000),
                            VariantData("B", 20_000, conversions=1_300)])
REVENUE = MetricData("revenue", [VariantData("A", 20_000, sum=42_000.0, sum_squares=1.34e6),
                                 VariantData("B", 20_000, sum=39_000.0, sum_squares=1.25e6)])


def test_existing_experiment_keeps_the_earlier_rule(metadata_url: str) -> None:
    engine = make_engine(metadata_url)
    try:
        migrate(engine, "0001")
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO organizations (id, name, slug, settings) "
                "VALUES ('org_old', 'Old', 'old', '{}')"))
            connection.execute(sa.text(
                "INSERT INTO experiments (id, org_id, key, name, guardrail_metrics, variants, "
                "status, started_at) VALUES ('exp_old', 'org_old', 'old', 'Old test', "
                ":guardrails, :variants, 'running', :started)"),
                {"guardrails": json.dumps(["revenue"]),
                 "variants": json.dumps([{"key": "A", "weight": 0.5},
                                         {"key": "B", "weight": 0.5}]),
                 "started": NOW - dt.timedelta(days=5)})
        migrate(engine)
        with Session(engine) as session:
            exp = session.get(Experiment, "exp_old")
            assert exp is not None
            assert (exp.min_conversions, exp.srm_threshold, exp.guardrail_alpha) == (30, 0.001,
                                                                                     0.05)
            assert exp.mde is None and exp.guardrails is None
            policy = policy_for(exp)
            assert policy == PromotionPolicy()
            before = evaluate(PromotionPolicy(), exp.started_at, NOW, LEADS, [REVENUE])
            after = evaluate(policy, exp.started_at, NOW, LEADS, [REVENUE])
            assert after.to_dict() == before.to_dict()
            assert after.promote  # -7 % revenue is not *significantly* worse: today's rule

            # Edited to the new rules: the same numbers no longer promote the revenue loss.
            exp.mde, exp.guardrails = 0.10, [{"metric": "revenue", "margin": 0.05,
                                              "direction": "higher_is_better"}]
            session.commit()
            edited = evaluate(policy_for(session.get(Experiment, "exp_old")), exp.started_at,
                              NOW, LEADS, [REVENUE])
            assert not edited.promote
            assert edited.to_dict()["policy"]["mde"] == 0.10
    finally:
        engine.dispose()
