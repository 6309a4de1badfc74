"""A sign-in flood beside normal traffic: GET /v1/magnets p95 and the API's RSS.

    .venv/bin/python benchmarks/login_flood.py [--flooders 30] [--requests 150]

A child process serves the API (uvicorn, one process, SQLite metadata, the per-IP sign-in
throttle off so that every request reaches password hashing, as a flood from many
addresses would). First ``--requests`` sequential ``GET /v1/magnets`` on an idle server
give the anchor (p95, RSS); then ``--flooders`` threads post logins with random emails
(each one a dummy argon2 verify) while the same reads are measured again. Prints both
p95s, their ratio (target <= 3), the RSS before and its peak during the flood (target:
flat, i.e. under one argon2 hash (64 MiB) per core above the idle value), and how the
flood's logins were answered (401 wrong, 503 busy: every hashing slot taken).
"""

from __future__ import annotations

import argparse
import collections
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.api import database, free_port, seed, serve, wait_healthy  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reads(base: str, token: str, n: int) -> list[float]:
    out = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                      timeout=60) as client:
        for _ in range(n):
            start = time.perf_counter()
            r = client.get("/v1/magnets")
            out.append((time.perf_counter() - start) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"/v1/magnets: {r.status_code} {r.text[:200]}")
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flooders", type=int, default=30)
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], args.serve[2])
        return
    with database(False) as url, tempfile.TemporaryDirectory() as data_dir:
        ids = seed(url, 200)
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT),
               "LODESTONE_API_RATE_LIMIT_PER_MINUTE": str(10**9),
               "LODESTONE_API_LOGIN_MAX_FAILURES_PER_IP": "0"}
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), data_dir, url],
                                env=env, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, proc, 180)
            reads(base, ids["token"], 30)  # warm-up
            # one real login, so the hasher and its dummy hash exist before the anchor
            httpx.post(f"{base}/v1/auth/login", json={"email": "warm@example.com",
                                                     "password": "warm-up-password"})
            rss_idle = rss_mib(proc.pid)
            idle = reads(base, ids["token"], args.requests)
            stop = threading.Event()
            answers: collections.Counter[int] = collections.Counter()
            lock = threading.Lock()

            def flood() -> None:
                with httpx.Client(base_url=base, timeout=60) as client:
                    while not stop.is_set():
                        email = f"{secrets.token_hex(6)}@example.com"
                        try:
                            status = client.post("/v1/auth/login", json={
                                "email": email, "password": secrets.token_hex(8)}).status_code
                        except httpx.HTTPError:
                            status = 0
                        with lock:
                            answers[status] += 1

            threads = [threading.Thread(target=flood, daemon=True)
                       for _ in range(args.flooders)]
            for t in threads:
                t.start()
            peak = rss_idle
            sampling = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not sampling.is_set():
                    peak = max(peak, rss_mib(proc.pid))
                    time.sleep(0.1)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            time.sleep(2.0)  # let the flood reach its steady state
            flooded = reads(base, ids["token"], args.requests)
            stop.set()
            sampling.set()
            for t in threads:
                t.join(60)
            sampler.join(5)
        finally:
            proc.terminate()
            proc.wait(20)
    ratio = p95(flooded) / p95(idle)
    print(f"Sign-in flood: {args.flooders} threads posting logins with random emails, "
          f"per-IP throttle off; {args.requests} sequential GET /v1/magnets each phase")
    print(f"{'':34} {'median ms':>10} {'p95 ms':>8}")
    print(f"{'GET /v1/magnets idle (anchor)':34} {statistics.median(idle):10.1f} {p95(idle):8.1f}")
    print(f"{'GET /v1/magnets under the flood':34} {statistics.median(flooded):10.1f} "
          f"{p95(flooded):8.1f}")
    print(f"p95 ratio flood/idle: {ratio:.2f} (target <= 3)")
    print(f"API RSS: {rss_idle:.0f} MiB idle, {peak:.0f} MiB peak under the flood "
          f"(+{peak - rss_idle:.0f} MiB)")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("flood logins answered: " + ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())))


if __name__ == "__main__":
    main()
