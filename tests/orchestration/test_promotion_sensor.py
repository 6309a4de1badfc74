"""The promotion sensor also watches holdouts: a holdout whose time is up ends at the next
tick, and the tick says so."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from dagster import SkipReason, build_sensor_context, instance_for_test

from kernel.metadata import Experiment, make_engine, migrate
from kernel.metadata.db import make_session_factory
from kernel.metadata.enums import ExperimentStatus
from kernel.metadata.models import Organization
from orchestration.resources import MetadataResource, WarehouseResource
from orchestration.sensors import experiment_promotion


def test_sensor_tick_ends_a_holdout_whose_time_is_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    engine = make_engine(url)
    migrate(engine)
    started = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    with make_session_factory(engine)() as s:
        s.add(Organization(id="org_s", name="S", slug="s"))
        s.flush()
        s.add(Experiment(org_id="org_s", key="done", name="Done", winner="B",
                         status=ExperimentStatus.PROMOTED,
                         variants=[{"key": "A", "weight": 0.5}, {"key": "B", "weight": 0.5}],
                         holdout_share=0.05, holdout_days=7, holdout_started_at=started,
                         holdout_ends_at=started + dt.timedelta(days=7)))
        s.commit()
    resources = {"warehouse": WarehouseResource(data_dir=str(tmp_path)),
                 "metadata": MetadataResource(metadata_url=url)}
    with instance_for_test() as instance:
        out = experiment_promotion(build_sensor_context(instance=instance, resources=resources))
    assert isinstance(out, SkipReason)
    assert "done: holdout ended, B is final" in (out.skip_message or "")
    with make_session_factory(engine)() as s:
        exp = s.scalar(sa.select(Experiment))
        assert exp is not None and exp.holdout_started_at is None
        assert exp.decision and exp.decision["holdout"]["final"]
    engine.dispose()
