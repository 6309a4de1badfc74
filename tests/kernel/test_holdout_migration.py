"""Migration 0009 (holdout): an experiment created before it keeps a final promotion (no
holdout); one edited to a holdout share starts one when promoted."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiments import lifecycle
from ingestion.registry import experiment_config
from kernel.metadata import Experiment, make_engine, migrate
from kernel.metadata.audit import Actor

NOW = dt.datetime(2026, 5, 10, tzinfo=dt.UTC)


def test_existing_experiment_promotes_without_a_holdout_until_edited(metadata_url: str) -> None:
    engine = make_engine(metadata_url)
    try:
        migrate(engine, "builds")
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO organizations (id, name, slug, settings) "
                "VALUES ('org_h', 'Old', 'old-h', '{}')"))
            for key in ("old", "edited"):
                connection.execute(sa.text(
                    "INSERT INTO experiments (id, org_id, key, name, guardrail_metrics, "
                    "variants, status, started_at) VALUES (:id, 'org_h', :key, 'Old test', "
                    "'[]', :variants, 'running', :started)"),
                    {"id": f"exp_{key}", "key": key, "started": NOW - dt.timedelta(days=5),
                     "variants": json.dumps([{"key": "A", "weight": 0.5},
                                             {"key": "B", "weight": 0.5}])})
        migrate(engine)
        with Session(engine) as session:
            old, edited = session.get(Experiment, "exp_old"), session.get(Experiment, "exp_edited")
            assert old is not None and edited is not None
            assert (old.holdout_share, old.holdout_days) == (0.0, 30)
            edited.holdout_share, edited.holdout_days = 0.05, 7
            for exp in (old, edited):
                lifecycle.promote(session, exp, "B", Actor.system("t"), {}, now=NOW)
            session.commit()
            assert old.holdout_started_at is None
            assert experiment_config(old) == {"k": "old", "g": "", "v": ["B"], "w": [1], "c": 1,
                                              "p": 1}
            assert edited.holdout_ends_at == NOW + dt.timedelta(days=7)
            assert experiment_config(edited) == {"k": "edited", "g": "", "v": ["A", "B"],
                                                 "w": [0.05, 0.95], "c": 1, "o": 1}
    finally:
        engine.dispose()
