"""The whole loop with real processes: collector over HTTP -> lake -> Dagster asset -> API -> dashboard."""

from __future__ import annotations

import random
import time

import httpx
import pytest
from dagster import materialize

from kernel.settings import Settings, get_settings
from kernel.warehouse.lake_backend import LakeWarehouse
from lodestone.seed import seed_org
from lodestone.services import init_storage, session_factory
from lodestone.simulate import generate, send_http
from orchestration.definitions import all_assets, all_checks
from orchestration.resources import MetadataResource, WarehouseResource
from tests.helpers import running_server, wait_for


@pytest.mark.slow
def test_event_in_number_on_the_dashboard(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    init_storage(settings)
    org = seed_org(session_factory(settings), settings.data_path)
    rows, truth = generate(org, visitors=400, days=5, rng=random.Random(5), now_ms=int(time.time() * 1000))
    with running_server(settings) as (base, _proc):
        accepted = send_http(rows, base, org.api_key)
        assert accepted == len(rows) == truth["events"]
        wh = LakeWarehouse(settings.lake_dir)
        assert wait_for(lambda: wh.count_events(org.org_id) == len(rows), timeout=15)
        result = materialize(
            [*all_assets, *all_checks],
            resources={"warehouse": WarehouseResource(), "metadata": MetadataResource()},
            selection=["daily_magnet_metrics"],
        )
        assert result.success
        checks = result.get_asset_check_evaluations()
        assert checks and all(c.passed for c in checks)
        r = httpx.get(f"{base}/v1/stats/daily-magnet-metrics",
                      headers={"Authorization": f"Bearer {org.api_key}"}, timeout=30)
        assert r.status_code == 200
        totals = r.json()["totals"]
        assert totals["leads"] == truth["event_counts"]["lead"]
        assert totals["views"] == truth["event_counts"]["magnet_view"]
        assert totals["revenue"] == pytest.approx(truth["revenue"], abs=0.01)
        # the same numbers on the Streamlit page, which reads them through the API
        from streamlit.testing.v1 import AppTest

        monkeypatch.setenv("LODESTONE_API_URL", base)
        monkeypatch.setenv("LODESTONE_DASHBOARD_API_KEY", org.api_key)  # kiosk sign-in
        get_settings.cache_clear()
        at = AppTest.from_file("../../dashboards/app.py", default_timeout=60).run()
        assert not at.exception
        metrics = {m.label: m.value for m in at.metric}  # the last row: the 30-day period
        assert metrics["Leads"] == f"{truth['event_counts']['lead']:,}"
        assert metrics["Magnet views"] == f"{truth['event_counts']['magnet_view']:,}"
        # a wrong key gives the API's own message on the page, not a traceback
        monkeypatch.setenv("LODESTONE_DASHBOARD_API_KEY", "ls_live_00000000_" + "0" * 64)
        get_settings.cache_clear()
        at = AppTest.from_file("../../dashboards/app.py", default_timeout=60).run()
        assert not at.exception and "unknown or revoked API key" in at.error[0].value
        # the pixel as the README's first try shows it, answered by the API process's own
        # collector routes (Starlette), not the standalone collector's bare-ASGI pixel
        marker = f"https://thin.example/{time.time_ns()}"
        r = httpx.get(f"{base}/p.gif", params={"site": org.site_key, "url": marker},
                      headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"})
        assert r.status_code == 200 and r.content.startswith(b"GIF89a")
        assert r.headers["content-type"] == "image/gif" and "no-store" in r.headers["cache-control"]
        assert wait_for(lambda: wh.query(
            f"SELECT event FROM {{{{ source('events') }}}} WHERE url = '{marker}'"), timeout=15)
        wh.close()
