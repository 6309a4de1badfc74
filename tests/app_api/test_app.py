"""The app factory: collector routes mounted, stats with an API key, startup checks."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app_api.deps import PermRead
from app_api.main import check_route_permissions, create_app
from kernel.settings import Settings
from tests.app_api.conftest import relaxed
from tests.app_api.world import make_org


def test_create_app_mounts_the_collector_and_serves_stats(api_settings: Settings) -> None:
    app = create_app(relaxed(api_settings))  # with_collector=True by default
    with TestClient(app) as client:
        org = make_org(client.app.state.lodestone, "stats",  # type: ignore[attr-defined]
                       password_for_owner=False)
        assert client.get("/healthz").status_code == 200
        assert client.get("/s.js").status_code == 200
        r = client.get("/v1/stats/daily-magnet-metrics", headers=org.key_auth(),
                       params={"start": "2026-01-01", "end": "2026-01-31"})
        assert r.status_code == 200, r.text
        assert set(r.json()) == {"data", "totals"}
        r = client.get("/v1/stats/daily-magnet-metrics", headers=org.key_auth(),
                       params={"start": "2026-02-01", "end": "2026-01-01"})
        assert r.status_code == 400 and "start" in r.json()["error"]["message"]
        assert client.get("/v1/stats/daily-magnet-metrics").status_code == 401
        # The collector's server-side endpoint still takes the same API keys.
        r = client.post("/v1/events", headers=org.key_auth(), json={"events": []})
        assert r.status_code < 500
        assert client.get("/docs").status_code == 200


def test_startup_refuses_a_route_without_a_permission(api_settings: Settings) -> None:
    app = create_app(relaxed(api_settings), with_collector=False)

    @app.get("/v1/forgotten")
    def forgotten() -> dict[str, str]:
        """A route someone forgot to protect."""
        return {}

    with pytest.raises(RuntimeError, match="/v1/forgotten"):
        check_route_permissions(app)

    protected = FastAPI()

    @protected.get("/v1/fine")
    def fine(ctx: PermRead) -> dict[str, str]:
        """Declares its permission."""
        return {}

    check_route_permissions(protected)
