"""``lodestone up``'s page visitors against a real server: the leads they make are in
``GET /v1/leads`` and their events in the warehouse came through the landing pages."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kernel.warehouse.lake_backend import LakeWarehouse
from lodestone.page_traffic import PageVisitors, local_base, max_posts_per_round
from lodestone.seed import SeededOrg, seed_org
from tests.helpers import make_settings, serve_app


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, SeededOrg, Path]]:
    data = tmp_path_factory.mktemp("page-traffic")
    settings = make_settings(data, optin_min_fill_s=0.3, webhooks_worker=False,
                             spool_seal_ms=50.0, ship_interval_ms=50)
    with serve_app(settings) as (base, app):
        sessions = app.state.lodestone.sessions
        org = seed_org(sessions, data)
        yield base, sessions, org, settings.lake_dir


def _events(lake: Path, where: str, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    wh, rows = LakeWarehouse(lake), []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rows = wh.query(f"SELECT * FROM {{{{ source('events') }}}} WHERE {where}")
        except Exception:  # no lake table before the first shipment
            rows = []
        if len(rows) >= count:
            break
        time.sleep(0.2)
    return rows


def test_page_visitors_opt_in_confirm_and_download_through_the_real_pages(
        demo: tuple[str, Any, SeededOrg, Path]) -> None:
    base, sessions, org, lake = demo
    pages = PageVisitors(base, sessions, org, rng=random.Random(7), max_posts=3,
                         opt_in_rate=1.0, confirm_rate=1.0)
    stats = pages.round(4, lambda s: threading.Event().wait(s), 0.3)
    assert (stats.views, stats.optins, stats.confirmed, stats.downloads, stats.refused) == (
        4, 3, 3, 3, 0)

    r = httpx.get(f"{base}/v1/leads", headers={"Authorization": f"Bearer {org.api_key}"})
    assert r.status_code == 200, r.text
    leads = r.json()["data"]
    assert len(leads) == 3
    assert all(lead["email"].endswith("@visitors.demo.example") for lead in leads)
    assert all(lead["confirmed_at"] for lead in leads)

    org_filter = f"org_id = '{org.org_id}'"
    views = _events(lake, f"{org_filter} AND event = 'magnet_view'", 4)
    assert len(views) == 4 and all("/m/demo/" in v["url"] for v in views)
    for event in ("lead", "confirmed", "download"):
        rows = _events(lake, f"{org_filter} AND event = '{event}'", 3)
        assert len(rows) == 3, event
    visitors = {v["visitor_id"] for v in views}
    leads_visitors = {v["visitor_id"] for v in _events(lake, f"{org_filter} AND event='lead'", 3)}
    assert leads_visitors <= visitors  # each lead is one of the page's visitors


def test_page_visitors_stay_on_loopback_and_under_the_opt_in_limit() -> None:
    assert local_base("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    for url in ("http://example.com", "http://0.0.0.0:8000", "https://10.0.0.1"):
        with pytest.raises(ValueError, match="only visit 127.0.0.1"):
            local_base(url)
    assert max_posts_per_round(10, 15.0) == 1  # 4 rounds a minute: 4 posts <= 10/2
    assert max_posts_per_round(0, 15.0) == 5  # no limit: still bounded
    assert max_posts_per_round(1, 15.0) == 0
