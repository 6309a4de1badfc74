"""Drive a started :class:`ingestion.collector.Collector` in this process with concurrent
pixel requests through its ASGI front and print, as JSON, the cyclic garbage collector's
passes per generation during them (run by tests/ingestion/test_gc.py in a subprocess, so
the test process's own collector settings stay untouched).

    python -m tests.ingestion.pixel_gc_probe DATA_DIR SITE_KEY [--default-gc] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from typing import Any

from ingestion.collector import Collector
from kernel.metadata.db import make_engine, make_session_factory
from kernel.warehouse import open_warehouse
from tests.helpers import make_settings

UA = b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


async def drive(data_dir: str, site_key: str, requests: int, default_gc: bool) -> dict[str, Any]:
    settings = make_settings(data_dir)
    collector = Collector(settings, make_session_factory(make_engine(settings.resolved_metadata_url)),
                          lambda: open_warehouse(settings))
    await collector.start()
    if default_gc:
        gc.set_threshold(700, 10, 10)  # Python's default, for the control run
    front = collector.asgi(lambda *a: None)  # type: ignore[arg-type,return-value]
    passes = [0, 0, 0]
    statuses: list[int] = []

    def counted(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes[info["generation"]] += 1

    async def pixel(i: int) -> None:
        scope = {"type": "http", "method": "GET", "path": "/p.gif", "headers": [(b"user-agent", UA)],
                 "query_string": f"site={site_key}&url=https%3A%2F%2Fx.example%2F{i % 50}".encode(),
                 "client": (f"10.0.{i // 256}.{i % 256}", 40000)}  # one IP each: the IP limit stays out of it

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await front(scope, None, send)  # type: ignore[arg-type]

    gc.callbacks.append(counted)
    cpu = time.process_time()
    try:
        for start in range(0, requests, 256):  # 256 in flight, as under wrk -c256
            await asyncio.gather(*(pixel(i) for i in range(start, min(requests, start + 256))))
    finally:
        cpu = time.process_time() - cpu  # every thread: handlers, group commits, shipping
        gc.callbacks.remove(counted)
        await collector.stop()
    return {"passes": passes, "cpu_us_per_request": round(cpu / requests * 1e6, 1), "threshold": list(gc.get_threshold()), "ok": statuses.count(200),
            "requests": requests}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("site_key")
    ap.add_argument("--requests", type=int, default=4096)
    ap.add_argument("--default-gc", action="store_true")
    a = ap.parse_args()
    print(json.dumps(asyncio.run(drive(a.data_dir, a.site_key, a.requests, a.default_gc))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
