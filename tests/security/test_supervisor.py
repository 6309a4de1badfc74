"""Workers die with their supervisor and drain first (issue #18, item 12).

``kill -9`` of the ``lodestone collector`` parent used to leave its workers running as
orphans, still answering on the port and holding their spool slots. Now each worker
notices at once, drains (commit, seal, ship) and exits: every acknowledged event is in
the warehouse without any restart.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.ingestion.support import CHROME, Collector, setup_storage, wait_until
from tests.ingestion.test_durability import _stored


def descendants(pid: int) -> set[int]:
    """Every process whose chain of parents leads to ``pid``."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - out
        out |= frontier
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_kill_9_of_the_parent_leaves_no_worker_and_loses_nothing(tmp_path: Path,
                                                                 server: str) -> None:
    settings, org, _ = setup_storage(tmp_path / "data")
    c = Collector(settings, "--workers", "2", "--server", server,
                  LODESTONE_SPOOL_SEAL_MS="600000")  # events stay in open segments
    c.start()
    assert c.proc is not None
    workers: set[int] = set()
    try:
        workers = wait_until(lambda: (d := descendants(c.proc.pid)) and len(d) >= 2 and d,
                             30, "two workers")
        acked: list[str] = []
        for _ in range(8):  # new connections, so both workers are likely to get some
            ids = [str(uuid.uuid4()) for _ in range(25)]
            r = httpx.post(f"{c.base}/e", headers={"User-Agent": CHROME}, timeout=10, json={
                "site": org.site_key, "events": [{"event": "lead", "event_id": i} for i in ids]})
            assert r.json()["accepted"] == 25
            acked += ids
        os.kill(c.proc.pid, signal.SIGKILL)  # the supervisor only, not its process group
        c.proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for p in workers):
            time.sleep(0.1)
        survivors = [p for p in workers if alive(p)]
        assert survivors == [], f"{len(survivors)} orphaned worker(s) still running"
        print(f"{server}: workers gone {10 - (deadline - time.monotonic()):.1f} s after the kill")
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{c.base}/healthz", timeout=2)
        stored = set(_stored(settings.lake_dir))
        assert set(acked) <= stored, f"{len(set(acked) - stored)} acknowledged events lost"
    finally:
        for p in workers:
            if alive(p):
                os.kill(p, signal.SIGKILL)
        c.stop()
