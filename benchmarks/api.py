"""API read latency on a real uvicorn server, beside the /healthz route as the anchor.

    .venv/bin/python benchmarks/api.py               # metadata on SQLite (a temp file)
    .venv/bin/python benchmarks/api.py --postgres    # PostgreSQL at 127.0.0.1:5432/test

A child process serves ``create_app`` (no collector) with uvicorn on 127.0.0.1; this
process seeds one organization (``--magnets`` magnets with two variants each, experiments,
leads), then sends ``--requests`` sequential keep-alive requests per route with httpx,
round-robin across the routes so drift hits all of them alike. Prints median and p95 per
route and each median's ratio to the /healthz median measured in the same run (the floor
of uvicorn + FastAPI + httpx on this machine). Target: median <= 20 ms for typical reads.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def serve(port: int, data_dir: str, metadata_url: str) -> None:
    """Child process: run the API with uvicorn until terminated."""
    import uvicorn

    from app_api.main import create_app
    from kernel.settings import load_settings

    settings = load_settings(data_dir=data_dir, env="test", metadata_url=metadata_url,
                             secret_key="benchmark-secret-0123456789abcdef")
    app = create_app(settings, with_collector=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def seed(metadata_url: str, magnets: int) -> dict[str, str]:
    """One organization with magnets, variants, experiments and leads; returns ids + key."""
    import datetime as dt

    from kernel.metadata.db import make_engine, make_session_factory, migrate
    from kernel.metadata.enums import ExperimentStatus, MagnetStatus, MagnetType
    from kernel.metadata.models import (
        ApiKey,
        Experiment,
        Lead,
        LeadMagnet,
        MagnetVariant,
        Organization,
    )
    from kernel.metadata.tokens import generate_api_key
    from kernel.permissions import ALL_PERMISSIONS

    engine = make_engine(metadata_url)
    migrate(engine)
    with make_session_factory(engine)() as s:
        org = Organization(name="Bench", slug="bench")
        other = Organization(name="Other", slug="other")
        s.add_all([org, other])
        s.flush()
        key = generate_api_key()
        s.add(ApiKey(org_id=org.id, name="bench", prefix=key.prefix, secret_hash=key.secret_hash,
                     scopes=list(ALL_PERMISSIONS)))
        first_magnet = first_exp = ""
        for owner in (org, other):  # a second tenant, so scoping has rows to skip
            for i in range(magnets):
                m = LeadMagnet(org_id=owner.id, name=f"Magnet {i}", slug=f"magnet-{i}",
                               type=MagnetType.EBOOK, status=MagnetStatus.PUBLISHED,
                               content={"title": f"Magnet {i}", "chapters": 6},
                               design={"primary_color": "#1d4ed8"}, lead_value=25.0,
                               published_at=dt.datetime.now(dt.UTC))
                s.add(m)
                s.flush()
                s.add_all([MagnetVariant(org_id=owner.id, magnet_id=m.id, key="A",
                                         is_control=True, content={"headline": "A"}),
                           MagnetVariant(org_id=owner.id, magnet_id=m.id, key="B",
                                         content={"headline": "B"})])
                e = Experiment(org_id=owner.id, magnet_id=m.id, key=f"exp-{i}", name=f"Exp {i}",
                               status=ExperimentStatus.RUNNING,
                               started_at=dt.datetime.now(dt.UTC),
                               variants=[{"key": "A", "weight": 0.5}, {"key": "B", "weight": 0.5}])
                s.add(e)
                s.add_all([Lead(org_id=owner.id, magnet_id=m.id, email=f"l{j}@example.com")
                           for j in range(5)])
                s.flush()
                if owner is org and not first_magnet:
                    first_magnet, first_exp = m.id, e.id
        s.commit()
    engine.dispose()
    return {"token": key.token, "magnet_id": first_magnet, "experiment_id": first_exp}


@contextlib.contextmanager
def database(postgres: bool) -> Iterator[str]:
    if not postgres:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/metadata.db"
        return
    from tests.metadata_db import DEFAULT_POSTGRES_URL, postgres_schema_url

    url = os.environ.get("LODESTONE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    with postgres_schema_url(url, prefix="lodestone_bench") as schema_url:
        yield schema_url



def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until ``base``/healthz answers 200; raise if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"the server at {base} did not start")
        time.sleep(0.1)

def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(base: str, routes: dict[str, str], token: str, n: int, warmup: int,
            ) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in routes}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for i in range(warmup + n):
            for name, path in routes.items():
                start = time.perf_counter()
                response = client.get(path)
                elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
                if i >= warmup:
                    timings[name].append(elapsed * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="metadata on PostgreSQL")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per route")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests per route")
    parser.add_argument("--magnets", type=int, default=200, help="magnets per organization")
    parser.add_argument("--serve", nargs=3, metavar=("PORT", "DATA_DIR", "URL"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], args.serve[2])
        return
    with database(args.postgres) as url, tempfile.TemporaryDirectory() as data_dir:
        ids = seed(url, args.magnets)
        port = free_port()
        env = {**os.environ, "LODESTONE_API_RATE_LIMIT_PER_MINUTE": str(10**9),
               "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), data_dir, url],
                                env=env, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, proc)
            routes = {
                "GET /healthz (anchor)": "/healthz",
                "GET /v1/magnets (50 of 200)": "/v1/magnets",
                "GET /v1/magnets/{id}": f"/v1/magnets/{ids['magnet_id']}",
                "GET /v1/experiments/{id}": f"/v1/experiments/{ids['experiment_id']}",
                "GET /v1/experiments?status=running": "/v1/experiments?status=running&limit=20",
                "GET /v1/leads?limit=50": "/v1/leads?limit=50",
            }
            timings = measure(base, routes, ids["token"], args.requests, args.warmup)
        finally:
            proc.terminate()
            proc.wait(20)
    anchor = statistics.median(timings["GET /healthz (anchor)"])
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"API read latency, metadata on {backend}, {args.requests} requests per route, "
          f"uvicorn + httpx keep-alive on 127.0.0.1")
    print(f"{'route':40} {'median ms':>10} {'p95 ms':>8} {'x anchor':>9}")
    for name, values in timings.items():
        med = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[18]
        print(f"{name:40} {med:10.2f} {p95:8.2f} {med / anchor:9.1f}")


if __name__ == "__main__":
    main()
