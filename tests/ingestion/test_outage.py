"""Warehouse outage: the collector keeps acknowledging until its spool quota, answers 503 with
Retry-After beyond it, and delivers every acknowledged event exactly once when the warehouse
returns.

The outage is real storage failure of the embedded lake: its ``events`` directory is moved
away and a plain file takes its place, so opening the table fails (FileExistsError) and an
open one fails to write (NotADirectoryError), like an unmounted volume. Making the directory
read-only would not do: tests run as root, which ignores permissions.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kernel.warehouse.lake_backend import LakeWarehouse
from tests.ingestion.support import CHROME, Collector, setup_storage, wait_until

QUOTA = 1024 * 1024  # the smallest quota the settings accept


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Collector, object]]:
    settings, org, _ = setup_storage(tmp_path_factory.mktemp("outage") / "data",
                                     spool_quota_bytes=QUOTA)
    c = Collector(settings, "--workers", "1")
    c.start()
    yield c, org
    c.stop()


class Outage:
    def __init__(self, lake: Path) -> None:
        self.dir, self.away = lake / "events", lake / "events.away"

    def __enter__(self) -> Outage:
        self.dir.rename(self.away)
        self.dir.write_text("the lake's volume is gone")
        return self

    def __exit__(self, *exc: object) -> None:
        self.dir.unlink()
        self.away.rename(self.dir)


def _stored(lake: Path) -> list[str]:
    wh = LakeWarehouse(lake)
    try:
        return [str(r["e"]) for r in wh.query("SELECT event_id AS e FROM {{ source('events') }}")]
    finally:
        wh.close()


def _batch(http: httpx.Client, site: str, n: int = 100) -> tuple[httpx.Response, list[str]]:
    ids = [str(uuid.uuid4()) for _ in range(n)]
    events = [{"event": "pageview", "event_id": i, "url": f"https://a.example/{i}",
               "referrer": "https://www.google.com/"} for i in ids]
    return http.post("/e", json={"site": site, "events": events}), ids


@pytest.mark.parametrize("seconds", [3, pytest.param(30, marks=pytest.mark.slow)])
def test_outage_then_exactly_once_delivery(server: tuple, seconds: int) -> None:  # type: ignore[type-arg]
    c, org = server
    lake = c.settings.lake_dir
    http = httpx.Client(base_url=c.base, headers={"User-Agent": CHROME}, timeout=20)
    before = set(_stored(lake))
    acked: list[str] = []
    sent: set[str] = set()
    with Outage(lake):
        t0 = time.monotonic()
        full = None
        for _ in range(400):  # bounded: about 60 batches fill a 1 MiB spool
            r, ids = _batch(http, org.site_key)
            sent.update(ids)
            if r.status_code == 200:
                acked += ids
                continue
            full = r
            break
        assert full is not None, "the spool never filled up"
        assert full.status_code == 503 and full.json()["error"]["code"] == "spool_full"
        assert int(full.headers["retry-after"]) >= 1
        # smaller requests may still fit under the quota; once nothing does, all get 503
        for _ in range(3000):  # bounded: a pixel frame is ~100 bytes, a batch's worth may remain
            pixel = http.get("/p.gif", params={"site": org.site_key, "event_id": str(uuid.uuid4())})
            if pixel.status_code == 200:
                acked.append(pixel.request.url.params["event_id"])
                sent.add(acked[-1])
                continue
            break
        assert pixel.status_code == 503 and pixel.headers["retry-after"]
        health = http.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "spool_full"
        wait_until(lambda: http.get("/healthz").json()["shipping"] == "failing", 30, "shipping failure")
        assert "lodestone_ship_failures_total" in http.get("/metrics").text
        time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
    assert len(acked) >= 1000
    stored = wait_until(lambda: (s := _stored(lake)) and set(acked) <= set(s) and s, 90,
                        "every acknowledged event after the outage")
    new = [e for e in stored if e not in before]
    assert set(acked) <= set(new) <= sent
    assert len(new) == len(set(new)), "an event was delivered twice"
    wait_until(lambda: http.get("/healthz").status_code == 200, 30, "the spool to empty")
    r, ids = _batch(http, org.site_key)  # accepting again
    assert r.status_code == 200 and r.json()["accepted"] == 100
    wait_until(lambda: set(ids) <= set(_stored(lake)), 30, "the last batch")
    http.close()
