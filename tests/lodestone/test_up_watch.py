"""``lodestone up`` prints one line per promotion the sensor decides while it runs."""

from __future__ import annotations

from pathlib import Path

from kernel.metadata.audit import Actor, record
from kernel.metadata.models import Organization
from lodestone.services import init_storage, session_factory
from lodestone.up import PromotionWatch
from tests.helpers import make_settings


def test_the_watch_reports_each_new_promotion_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    init_storage(settings)
    sessions = session_factory(settings)
    with sessions() as session:
        org = Organization(name="Demo", slug="demo")
        session.add(org)
        session.flush()
        org_id = org.id
        record(session, org_id=org_id, actor=Actor.system("sensor"), action="experiment.promoted",
               resource_type="experiment", resource_id="exp_before", after={"key": "old", "winner": "B"})
        session.commit()
    watch = PromotionWatch(sessions)  # promotions from before it started are not news
    assert watch.poll() == []
    with sessions() as session:
        record(session, org_id=org_id, actor=Actor.system("sensor"), action="experiment.promoted",
               resource_type="experiment", resource_id="exp_1", after={"key": "headline", "winner": "C"})
        record(session, org_id=org_id, actor=Actor.system("sensor"), action="experiment.started",
               resource_type="experiment", resource_id="exp_2")
        session.commit()
    assert watch.poll() == ["experiment headline: promoted C (by sensor)"]
    assert watch.poll() == []
