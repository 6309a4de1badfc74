"""The durable job queue on the embedded SQLite metadata database: enqueue (commit), claim +
finish per job, and the in-process wake-up latency (enqueue commit -> a worker thread has
claimed it), each beside an anchor measured in the same run: one bare INSERT + COMMIT of an
audit row in the same database.

    python benchmarks/jobs.py [N]
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jobs import queue  # noqa: E402
from kernel.metadata import Organization, make_engine, make_session_factory, migrate  # noqa: E402
from kernel.metadata.audit import Actor, record  # noqa: E402
from kernel.metadata.models import Job  # noqa: E402

LEASE = dt.timedelta(seconds=60)


def main(n: int = 300) -> int:
    engine = make_engine(f"sqlite:///{Path(tempfile.mkdtemp(prefix='lodestone-jobs-')) / 'm.db'}")
    migrate(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as s:
        org = Organization(name="Bench", slug="bench")
        s.add(org)
        s.flush()
        org_id = org.id

    def timed(fn: object) -> float:
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()  # type: ignore[operator]
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples) * 1000

    def anchor() -> None:
        with sessions() as s:
            record(s, org_id=org_id, actor=Actor.system("bench"), action="bench.row",
                   resource_type="bench", resource_id=None)
            s.commit()

    def enqueue() -> None:
        with sessions() as s:
            queue.enqueue(s, org_id, "build", {"n": 1})
            s.commit()

    def claim_finish() -> None:
        job = queue.claim(sessions, LEASE, "bench")
        assert job is not None
        with sessions() as s:
            queue.finish(s, s.get_one(Job, job.id), {})
            s.commit()

    insert_ms = timed(anchor)
    enqueue_ms = timed(enqueue)
    claim_ms = timed(claim_finish)

    woke: list[float] = []
    claimed = threading.Event()
    stop = threading.Event()
    wake = threading.Event()
    queue.job_queued.connect(wake.set)

    def worker() -> None:
        while not stop.is_set():
            wake.wait(1.0)
            wake.clear()
            while queue.claim(sessions, LEASE, "bench-thread") is not None:
                claimed.set()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    for _ in range(50):
        claimed.clear()
        t0 = time.perf_counter()
        enqueue()
        claimed.wait(5)
        woke.append(time.perf_counter() - t0)
    stop.set()
    wake.set()
    thread.join()
    wake_ms = statistics.median(woke) * 1000
    print(f"anchor: INSERT+COMMIT of one row      {insert_ms:7.2f} ms (median of {n})")
    print(f"enqueue (job row + commit)            {enqueue_ms:7.2f} ms  {enqueue_ms / insert_ms:5.2f} x anchor")
    print(f"claim + finish one job                {claim_ms:7.2f} ms  {claim_ms / insert_ms:5.2f} x anchor"
          f"  ({1000 / claim_ms:,.0f} jobs/s per worker)")
    print(f"enqueue -> claimed by a woken thread  {wake_ms:7.2f} ms  {wake_ms / insert_ms:5.2f} x anchor")
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
