"""Landing page server time and weight on a real uvicorn server, beside /healthz.

    .venv/bin/python benchmarks/landing.py [--requests 300]

A child process serves ``create_app`` with the collector (so each view appends its
``magnet_view``/``exposure`` to the spool and waits for the fsync, as in production) on
127.0.0.1; this process seeds one published magnet with a running A/B experiment and
requests the page ``--requests`` times as new visitors (no cookie: variant assignment,
form token, two events) and as returning visitors (cookie: one event), round-robin with
the anchor ``/healthz`` (uvicorn + Starlette + httpx floor in the same run). Prints
medians, p95s, ratios to the anchor and the page's gzip size. Targets (issue #12): median
server time <= 10 ms, HTML + critical CSS <= 14 KB compressed.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.api import free_port, wait_healthy  # noqa: E402

SECRET = "benchmark-secret-0123456789abcdef"


class ServerTiming:
    """ASGI wrapper: ``Server-Timing: app;dur=<ms>`` on every answer, the time from the
    request reaching the app to its response head (what the machine's load adds to the
    round trip stays out of it)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed(message: Any) -> None:
            if message["type"] == "http.response.start":
                dur = (time.perf_counter() - start) * 1000
                message["headers"] = [*message.get("headers", []),
                                      (b"server-timing", f"app;dur={dur:.3f}".encode())]
            await send(message)

        await self.app(scope, receive, timed)


def serve(port: int, data_dir: str) -> None:
    """Child process: the API with its collector, until terminated."""
    import uvicorn

    from app_api.main import create_app
    from kernel.settings import load_settings

    settings = load_settings(data_dir=data_dir, env="test", secret_key=SECRET,
                             mail_worker=False, webhooks_worker=False)
    uvicorn.run(ServerTiming(create_app(settings)), host="127.0.0.1", port=port,
                log_level="warning", access_log=False)


def server_ms(response: httpx.Response) -> float:
    return float(response.headers["server-timing"].split("dur=")[1])


def seed(data_dir: str) -> str:
    """One published magnet with a running experiment; returns its landing path."""
    from kernel.metadata.db import make_engine, make_session_factory, migrate
    from kernel.metadata.enums import ExperimentStatus, MagnetStatus, MagnetType
    from kernel.metadata.models import (
        Experiment,
        LeadMagnet,
        MagnetVariant,
        Organization,
        Site,
    )

    engine = make_engine(f"sqlite:///{Path(data_dir) / 'metadata.db'}")
    migrate(engine)
    with make_session_factory(engine)() as s:
        org = Organization(name="Bench Press", slug="bench")
        s.add(org)
        s.flush()
        site = Site(org_id=org.id, name="Blog")
        s.add(site)
        s.flush()
        magnet = LeadMagnet(
            org_id=org.id, site_id=site.id, name="SEO Checklist", slug="seo-checklist",
            type=MagnetType("checklist"), status=MagnetStatus.PUBLISHED,
            content={"title": "The 27-point SEO checklist",
                     "subtitle": "Everything to check before you publish a page.",
                     "benefits": ["Find the 5 fixes that matter most", "A printable one-pager",
                                  "Used by 1,200 editors"]})
        magnet.variants.append(MagnetVariant(org_id=org.id, key="A", is_control=True))
        magnet.variants.append(MagnetVariant(org_id=org.id, key="B",
                                             content={"headline": "Ready for Google?"}))
        s.add(magnet)
        s.flush()
        s.add(Experiment(org_id=org.id, magnet_id=magnet.id, key="bench-headline", name="H",
                         variants=[{"key": "A", "weight": 0.5}, {"key": "B", "weight": 0.5}],
                         status=ExperimentStatus.RUNNING))
        s.commit()
    engine.dispose()
    return "/m/bench/seo-checklist"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0"}
    with tempfile.TemporaryDirectory() as data_dir:
        path = seed(data_dir)
        port = free_port()
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), data_dir],
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        names = ("GET /healthz (anchor)", "landing, new visitor", "landing, returning visitor")
        timings: dict[str, list[float]] = {n: [] for n in names}
        server: dict[str, list[float]] = {n: [] for n in names}
        try:
            wait_healthy(base, proc)
            with httpx.Client(base_url=base, headers=ua, timeout=10) as client:
                page = client.get(path)
                cookies = dict(page.cookies)
                for i in range(args.warmup + args.requests):
                    for name, kwargs in (("GET /healthz (anchor)", {}),
                                         ("landing, new visitor", {}),
                                         ("landing, returning visitor", {"cookies": cookies})):
                        client.cookies.clear()
                        url = "/healthz" if name.startswith("GET /healthz") else path
                        start = time.perf_counter()
                        r = client.get(url, **kwargs)
                        elapsed = (time.perf_counter() - start) * 1000
                        if r.status_code != 200:
                            raise RuntimeError(f"{url}: {r.status_code}")
                        if i >= args.warmup:
                            timings[name].append(elapsed)
                            server[name].append(server_ms(r))
        finally:
            proc.terminate()
            proc.wait(20)
    anchor = statistics.median(timings["GET /healthz (anchor)"])
    s_anchor = statistics.median(server["GET /healthz (anchor)"])
    print(f"Landing page, {args.requests} requests each, uvicorn + httpx keep-alive on "
          "127.0.0.1, events fsynced to the spool before each answer; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'request':28} {'round trip: median':>19} {'p95':>7} {'x anchor':>9} "
          f"{'server: median':>15} {'p95':>7} {'x anchor':>9}")
    for name, values in timings.items():
        med, s_med = statistics.median(values), statistics.median(server[name])
        print(f"{name:28} {med:16.2f} ms {statistics.quantiles(values, n=20)[18]:7.2f} "
              f"{med / anchor:9.1f} {s_med:12.2f} ms "
              f"{statistics.quantiles(server[name], n=20)[18]:7.2f} {s_med / s_anchor:9.1f}")
    print("target (issue #12): median server time <= 10 ms")
    print(f"page weight: {len(page.content)} bytes HTML with inline CSS and script, "
          f"{len(gzip.compress(page.content, 6))} bytes gzipped (target <= 14,336)")


if __name__ == "__main__":
    main()
