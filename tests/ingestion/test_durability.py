"""No acknowledged event is ever lost: kill -9 under load, graceful drain, rate limits."""

from __future__ import annotations

import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kernel.warehouse.lake_backend import LakeWarehouse
from tests.ingestion.support import CHROME, Collector, collector, setup_storage, wait_until


class Load:
    """Threads sending batches (and pixels) with known event ids; records every 2xx."""

    def __init__(self, base: str, site: str, threads: int = 6) -> None:
        self.base, self.site = base, site
        self.sent: set[str] = set()
        self.acked: set[str] = set()
        self.errors = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(k,), daemon=True) for k in range(threads)]

    def _run(self, k: int) -> None:
        with httpx.Client(base_url=self.base, headers={"User-Agent": CHROME}, timeout=10) as http:
            deadline = time.monotonic() + 60  # bounded even if nobody stops us
            while not self._stop.is_set() and time.monotonic() < deadline:
                ids = [str(uuid.uuid4()) for _ in range(1 if k == 0 else 20)]
                with self._lock:
                    self.sent.update(ids)
                try:
                    if k == 0:
                        r = http.get("/p.gif", params={"site": self.site, "event_id": ids[0]})
                        ok = r.status_code == 200
                    else:
                        r = http.post("/e", json={"site": self.site, "events": [
                            {"event": "pageview", "event_id": i, "url": f"https://a.example/{k}"} for i in ids]})
                        ok = r.status_code == 200 and r.json()["accepted"] == len(ids)
                except httpx.HTTPError:
                    ok = False
                if ok:
                    with self._lock:
                        self.acked.update(ids)
                else:
                    self.errors += 1
                    time.sleep(0.05)

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)


def _stored(lake: Path) -> list[str]:
    wh = LakeWarehouse(lake)
    try:
        return [str(r["e"]) for r in wh.query("SELECT event_id AS e FROM {{ source('events') }}")]
    finally:
        wh.close()


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, object]]:
    settings, org, _ = setup_storage(tmp_path_factory.mktemp("durability") / "data")
    yield settings, org


def test_kill_9_under_load_loses_no_acknowledged_event(storage: tuple) -> None:  # type: ignore[type-arg]
    settings, org = storage
    # Long-lived open segments, so a kill finds data in every state: buffered, written,
    # fsync'd but unsealed, sealed, mid-shipment.
    c = Collector(settings, "--workers", "2", LODESTONE_SPOOL_SEAL_MS="3000")
    c.start()
    sent: set[str] = set()
    acked: set[str] = set()
    rng = random.Random(7)
    try:
        for _cycle in range(2):
            with Load(c.base, org.site_key) as load:
                wait_until(lambda load=load: len(load.acked) > 300, 60, "some acknowledged events")
                time.sleep(rng.uniform(0.2, 1.5))
                c.signal(signal.SIGKILL)  # the whole process group, workers included
            sent |= load.sent
            acked |= load.acked
            c.start()
        stored = wait_until(lambda: (s := _stored(settings.lake_dir)) and acked <= set(s) and s,
                            120, "every acknowledged event in the lake")
    finally:
        c.stop()
    assert len(acked) > 600
    assert acked <= set(stored), f"{len(acked - set(stored))} acknowledged events lost"
    assert set(stored) <= sent, "events nobody sent"
    assert len(stored) == len(set(stored)), f"{len(stored) - len(set(stored))} duplicates"


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_sigterm_drains_the_spool_into_the_warehouse(storage: tuple, server: str) -> None:  # type: ignore[type-arg]
    settings, org = storage
    before = set(_stored(settings.lake_dir))
    with collector(settings, "--workers", "2", "--server", server,
                   LODESTONE_SPOOL_SEAL_MS="600000") as c:
        ids = [str(uuid.uuid4()) for _ in range(200)]
        r = httpx.post(f"{c.base}/e", headers={"User-Agent": CHROME}, timeout=10, json={
            "site": org.site_key, "events": [{"event": "lead", "event_id": i} for i in ids]})
        assert r.json()["accepted"] == 200
        c.signal(signal.SIGTERM)  # drain: commit, seal, ship, release the slot
    assert c.proc is not None and c.proc.returncode is not None
    after = _stored(settings.lake_dir)
    assert set(ids) <= set(after) - before
    assert not [p for p in settings.spool_dir.glob("slot-*/*") if p.suffix in (".open", ".sealed")]


def test_rate_limits_answer_429_with_retry_after(storage: tuple) -> None:  # type: ignore[type-arg]
    settings, org = storage
    limits = {"LODESTONE_RATE_LIMIT_IP_RPS": "1", "LODESTONE_RATE_LIMIT_IP_BURST": "3",
              "LODESTONE_RATE_LIMIT_ORG_EPS": "20", "LODESTONE_RATE_LIMIT_ORG_BURST": "100"}
    with collector(settings, "--workers", "1", **limits) as c:
        # each client IP has its own bucket: use addresses of the loopback range
        def client(ip: str) -> httpx.Client:
            return httpx.Client(base_url=c.base, headers={"User-Agent": CHROME}, timeout=10,
                                transport=httpx.HTTPTransport(local_address=ip))

        with client("127.0.0.2") as a:
            codes = [a.get("/p.gif", params={"site": org.site_key}).status_code for _ in range(6)]
            assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
            refused = next(r for r in (a.get("/p.gif", params={"site": org.site_key}) for _ in range(3))
                           if r.status_code == 429)
            assert int(refused.headers["retry-after"]) >= 1
        with client("127.0.0.3") as b:
            batch = {"site": org.site_key, "events": [{"event": "pageview"}] * 90}
            assert b.post("/e", json=batch).status_code == 200
            r = b.post("/e", json=batch)  # 90 + 90 events > the org's burst of 100
            assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
            assert int(r.headers["retry-after"]) >= 1
        with client("127.0.0.4") as s:
            r = s.post("/v1/events", json={"events": [{"event": "purchase"}] * 50},
                       headers={"Authorization": f"Bearer {org.api_key}"})
            assert r.status_code == 429  # server-side calls share the organization's budget
        assert 'reason="rate_limited"' in httpx.get(f"{c.base}/metrics").text
