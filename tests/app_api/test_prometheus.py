"""``/metrics`` of a real ``lodestone serve``: requests by route template, the DB pool, the
webhook outbox and delivery outcomes, the job queue, asset freshness; the token guard."""

from __future__ import annotations

import base64
import datetime as dt
import re
import time
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs.queue import enqueue
from kernel.metadata.db import make_engine, make_session_factory
from kernel.metadata.models import ApiKey, Organization
from kernel.metadata.tokens import generate_api_key
from kernel.permissions import ALL_PERMISSIONS
from kernel.settings import Environment
from kernel.warehouse.lake_backend import LakeWarehouse
from lodestone.server import run_server
from lodestone.services import init_storage
from tests.helpers import ROOT, free_port, make_settings, running_server, wait_for

TOKEN = "scrape-me-0123456789"


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
           **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_of_a_real_server_after_real_requests(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, metrics_token=TOKEN, jobs_worker=False,
                             webhooks_allow_private=True)
    init_storage(settings)
    engine = make_engine(settings.resolved_metadata_url)
    with make_session_factory(engine)() as s:
        org = Organization(name="Metrics", slug="metrics")
        s.add(org)
        s.flush()
        key = generate_api_key()
        s.add(ApiKey(org_id=org.id, name="all", prefix=key.prefix, secret_hash=key.secret_hash,
                     scopes=list(ALL_PERMISSIONS)))
        enqueue(s, org.id, "build", {})
        job = enqueue(s, org.id, "draft", {})
        job.run_after = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=90)
        s.commit()
    engine.dispose()
    with LakeWarehouse(settings.lake_dir) as wh:
        wh.write_table("daily_magnet_metrics", pa.table({"n": [1, 2]}))
    written = time.time()
    auth = {"Authorization": f"Bearer {key.token}"}
    closed = free_port()  # nobody listens: the delivery fails and is retried later

    with running_server(settings) as (base, _):
        http = httpx.Client(base_url=base, timeout=10)
        assert http.get("/metrics").status_code == 401
        assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        for _ in range(3):
            assert http.get("/v1/magnets", headers=auth).status_code == 200
        assert http.get("/v1/magnets/mag_nope123", headers=auth).status_code == 404
        endpoint = http.post("/v1/webhook-endpoints", headers=auth,
                             json={"url": f"http://127.0.0.1:{closed}/hook"}).json()
        assert http.post(f"/v1/webhook-endpoints/{endpoint['id']}/test",
                         headers=auth).status_code < 300

        def scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
            r = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 200
            assert "mag_nope123" not in r.text and org.id not in r.text  # no ids in labels
            return _samples(r.text)

        m = wait_for(lambda: (m := scrape()) and _value(
            m, "lodestone_webhook_deliveries_total", outcome="failed") and m, timeout=30)
        scraped = time.time()

    assert _value(m, "lodestone_api_requests_total",
                  method="GET", route="/v1/magnets", status="200") == 3
    assert _value(m, "lodestone_api_requests_total",
                  method="GET", route="/v1/magnets/{magnet_id}", status="404") == 1
    assert _value(m, "lodestone_api_request_seconds_count",
                  method="GET", route="/v1/magnets") == 3
    assert _value(m, "lodestone_api_request_seconds_bucket",
                  method="GET", route="/v1/magnets", le="+Inf") == 3
    assert _value(m, "lodestone_webhook_deliveries_total", outcome="failed") == 1
    # the failed attempt's retry waits its back-off; nothing waits in the outbox itself
    assert _value(m, "lodestone_webhook_outbox_depth", stage="delivery") == 1
    assert _value(m, "lodestone_webhook_outbox_depth", stage="outbox") == 0
    assert _value(m, "lodestone_jobs_queued", kind="build") == 1
    assert _value(m, "lodestone_jobs_queued", kind="draft") == 1
    assert 90 <= _value(m, "lodestone_jobs_oldest_queued_seconds", kind="draft") < 90 + (
        scraped - written) + 5
    age = _value(m, "lodestone_asset_age_seconds", asset="daily_magnet_metrics")
    assert 0 <= age <= scraped - written + 1
    assert _value(m, "lodestone_db_pool_connections", db="metadata") >= 1
    assert _value(m, "lodestone_db_pool_checked_out", db="metadata") >= 0
    assert _value(m, "lodestone_scrape_errors", source="metadata") == 0


def test_production_refuses_unprotected_metrics_on_a_public_address(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LODESTONE_ENV", Environment.production.value)
    monkeypatch.setenv("LODESTONE_SECRET_KEY", "Zq8v-Lr3_Xw9Tn2Bk7Yp4Hs6Mc1Jd5Gf0Ua8Re3Wi7Qo2")
    monkeypatch.setenv("LODESTONE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LODESTONE_MASTER_KEY", base64.b64encode(b"k" * 32).decode())
    from kernel.settings import get_settings

    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit, match="LODESTONE_METRICS_TOKEN"):
            run_server("app_api.asgi:app", "0.0.0.0", free_port(), 1, "uvicorn")
    finally:
        get_settings.cache_clear()


def test_every_metric_is_documented() -> None:
    sources = ["kernel/telemetry.py", "app_api/prometheus.py"]
    names = {n for src in sources
             for n in re.findall(r'"(lodestone_[a-z_]+)"', (ROOT / src).read_text())}
    assert len(names) >= 12, names
    doc = (ROOT / "docs" / "operations.md").read_text()
    assert not {n for n in names if f"`{n}`" not in doc}
