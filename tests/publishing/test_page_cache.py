"""The landing pages' snapshot cache: no query on a cached view, dropped by this process's
commits at once and by another process's (config revision) within ``check_every_s``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from kernel.errors import NotFoundError
from kernel.metadata.db import make_engine, make_session_factory, migrate
from kernel.metadata.enums import MagnetStatus
from kernel.metadata.models import LeadMagnet, MagnetVariant, Organization
from publishing.landing import MagnetGoneError
from publishing.page_cache import LandingCache
from tests.publishing.conftest import seed


def test_cached_views_run_no_query_and_changes_show_at_once(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'meta.db'}")
    migrate(engine)
    sessions = make_session_factory(engine)
    m = seed(sessions, "cache")
    cache = LandingCache(sessions, check_every_s=60)
    queries: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda *args: queries.append(str(args[2])))
    try:
        snap = cache.get(m.org_slug, m.slug)
        assert snap.content("B").headline == "Is your page ready for Google?"
        assert snap.content("A").headline == "The 27-point SEO checklist"
        assert snap.experiment is not None and snap.experiment["k"] == m.experiment
        loaded = len(queries)
        assert loaded > 0
        for _ in range(20):
            assert cache.cached(m.org_slug, m.slug) is snap
            assert cache.get(m.org_slug, m.slug) is snap
        assert len(queries) == loaded  # cached: not one query

        with sessions() as s:  # an edit in this process: dropped after its commit
            variant = s.scalar(sa.select(MagnetVariant).where(
                MagnetVariant.magnet_id == m.id, MagnetVariant.key == "B"))
            assert variant is not None
            variant.content = {"headline": "A new question?"}
            s.commit()
        assert cache.cached(m.org_slug, m.slug) is None
        assert cache.get(m.org_slug, m.slug).content("B").headline == "A new question?"

        with sessions() as s:
            magnet = s.get(LeadMagnet, m.id)
            assert magnet is not None
            magnet.status = MagnetStatus.ARCHIVED
            s.commit()
        for _ in range(2):  # the refusal is cached too, and raised afresh each time
            with pytest.raises(MagnetGoneError):
                cache.get(m.org_slug, m.slug)
        with pytest.raises(NotFoundError):
            cache.get(m.org_slug, "no-such-magnet")
    finally:
        cache.close()
        engine.dispose()


def test_another_process_change_is_seen_within_the_check_period(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'meta.db'}")
    migrate(engine)
    sessions = make_session_factory(engine)
    m = seed(sessions, "remote")
    cache = LandingCache(sessions, check_every_s=0.2)
    try:
        assert cache.get(m.org_slug, m.slug).double_opt_in is True
        # What another process's commit looks like here: rows and revision changed, no
        # in-process signal (Core statements fire no ORM flush events).
        with engine.begin() as conn:
            conn.execute(sa.update(LeadMagnet).where(LeadMagnet.id == m.id)
                         .values(double_opt_in=False))
            conn.execute(sa.update(Organization).where(Organization.id == m.org_id)
                         .values(config_revision=Organization.config_revision + 1))
        assert cache.get(m.org_slug, m.slug).double_opt_in is True  # within the period
        time.sleep(0.25)
        assert cache.cached(m.org_slug, m.slug) is None  # the period is over: check first
        assert cache.get(m.org_slug, m.slug).double_opt_in is False
    finally:
        cache.close()
        engine.dispose()
