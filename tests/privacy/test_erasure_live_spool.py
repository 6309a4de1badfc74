"""Erasure while a live collector holds the person's acknowledged events and cannot ship
them (the lake is down, then the collector is frozen): the spool step rewrites its sealed
segments under the slot's ship lock, so when shipping resumes the person's events never
reach the lake, and every other acknowledged event arrives exactly once."""

from __future__ import annotations

import fcntl
import os
import signal
import uuid
from pathlib import Path

import httpx

from ingestion.frames import read_table
from kernel.metadata.audit import Actor
from kernel.warehouse.lake_backend import LakeWarehouse
from lodestone.services import session_factory
from privacy import requests, scan
from tests.ingestion.support import Collector, setup_storage, wait_until
from tests.ingestion.test_outage import Outage

PERSON = "v-live-spool-person-4d2c"


def _sealed_rows(spool: Path) -> int:
    sealed = sorted(spool.glob("slot-*/*.sealed"))
    return read_table(sealed).num_rows if sealed else 0


def _lake(lake: Path) -> list[tuple[str, str]]:
    wh = LakeWarehouse(lake)
    try:
        return [(str(r["e"]), str(r["v"])) for r in wh.query(
            "SELECT event_id AS e, visitor_id AS v FROM {{ source('events') }}")]
    finally:
        wh.close()


def _ship_lock_free(spool: Path) -> bool:
    for path in spool.glob("slot-*.ship"):
        with open(path, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(fh, fcntl.LOCK_UN)
    return True


def test_erasure_of_spooled_events_a_paused_collector_holds(tmp_path: Path) -> None:
    settings, org, _ = setup_storage(tmp_path / "data", privacy_spool_wait_s=10.0)
    spool, lake = settings.spool_dir, settings.lake_dir
    c = Collector(settings, "--workers", "1")
    c.start()
    http = httpx.Client(base_url=c.base, timeout=20,
                        headers={"Authorization": f"Bearer {org.api_key}"})
    mine: list[str] = []
    others: list[str] = []
    try:
        with Outage(lake):  # shipping fails: everything stays in the spool
            for batch in range(3):
                events = []
                for i in range(10):
                    eid, who = str(uuid.uuid4()), PERSON if i % 3 == 0 else f"v-other-{batch}-{i}"
                    (mine if who == PERSON else others).append(eid)
                    events.append({"event": "pageview", "event_id": eid, "visitor_id": who,
                                   "url": f"https://a.example/p/{who}"})
                r = http.post("/v1/events", json={"site": org.site_key, "events": events})
                assert r.status_code == 200 and r.json()["accepted"] == 10  # acknowledged
            wait_until(lambda: _sealed_rows(spool) == 30, 20, "the segments to be sealed")
            wait_until(lambda: http.get("/healthz").json()["shipping"] == "failing", 20,
                       "shipping to fail")
            # Freeze the collector between two shipping attempts: it keeps its slot.
            for _ in range(50):
                os.killpg(c.proc.pid, signal.SIGSTOP)  # type: ignore[union-attr]
                if _ship_lock_free(spool):
                    break
                os.killpg(c.proc.pid, signal.SIGCONT)  # type: ignore[union-attr]
            else:
                raise AssertionError("the collector never let go of its ship lock")
        assert (len(mine), len(others)) == (12, 18)
        assert _lake(lake) == []  # the lake is back; nothing has been shipped

        sessions = session_factory(settings)
        with sessions() as s:
            req = requests.request(s, org.org_id, Actor.system("test"), settings, "erase",
                                   visitor_id=PERSON)
            s.commit()
        steps = requests.run_erasure(sessions, settings, req.id)
        assert steps["spool"] == 12  # rewritten in the live (frozen) collector's slot
        assert _sealed_rows(spool) == 18

        os.killpg(c.proc.pid, signal.SIGCONT)  # type: ignore[union-attr]
        stored = wait_until(lambda: len(rows := _lake(lake)) >= 18 and rows, 60,
                            "the other visitors' events to be shipped")
        wait_until(lambda: _sealed_rows(spool) == 0, 20, "the spool to empty")
        ids = [e for e, _ in _lake(lake)]
        assert sorted(ids) == sorted(others)  # every other acknowledged event, once
        assert PERSON not in {v for _, v in stored}
        assert scan.scan_files(settings.data_path, [PERSON]) == []
        assert scan.scan_database(sessions.kw["bind"], [PERSON]) == []
    finally:
        if c.proc is not None and c.proc.poll() is None:
            os.killpg(c.proc.pid, signal.SIGCONT)
        http.close()
        c.stop()
