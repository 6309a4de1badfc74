"""What metrics and tracing cost an API request, beside the request itself (same run).

    python benchmarks/observability.py

* the request metrics alone (one counter increment and one histogram observation with
  their labels), in one process and in multi-process mode (``PROMETHEUS_MULTIPROC_DIR``,
  a locked write to a memory-mapped file each), microseconds per request;
* median CPU time of ``GET /v1/magnets`` in process (Starlette TestClient, SQLite) with
  tracing off (the default) and on (SDK provider, spans exported to memory), interleaved,
  beside ``/healthz``. CPU, not wall time: the figures hold on a shared machine.
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
N = 300
ROUNDS = 10

_METRICS_LOOP = """
import time
from kernel.telemetry import API_LATENCY, API_REQUESTS
n = 20000
t0 = time.process_time()
for i in range(n):
    API_REQUESTS.labels("GET", "/v1/magnets", "200").inc()
    API_LATENCY.labels("GET", "/v1/magnets").observe(0.004)
print((time.process_time() - t0) / n * 1e6)
"""


def _metrics_us(multiprocess: bool) -> float:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as prom:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = prom
        out = subprocess.run([sys.executable, "-c", _METRICS_LOOP], env=env, cwd=ROOT,
                             check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def _cpu_ms(client, path: str, headers: dict[str, str], n: int) -> list[float]:  # type: ignore[no-untyped-def]
    """CPU time of this process (the client's and the app's threads) per request, ms."""
    out = []
    for _ in range(n):
        t0 = time.process_time()
        assert client.get(path, headers=headers).status_code == 200
        out.append((time.process_time() - t0) * 1000)
    return out


def _requests() -> dict[str, float]:
    """Median CPU per request: /healthz, /v1/magnets with tracing off and on, interleaved."""
    import structlog
    from fastapi.testclient import TestClient
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from app_api.main import create_app
    from kernel import tracing
    from lodestone.seed import seed_org
    from lodestone.services import init_storage, session_factory
    from tests.helpers import make_settings

    # the per-request log lines are not what is measured
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    samples: dict[str, list[float]] = {"healthz": [], "off": [], "on": []}
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp), api_rate_limit_per_minute=0)
        init_storage(settings)
        org = seed_org(session_factory(settings), settings.data_path)
        auth = {"Authorization": f"Bearer {org.api_key}"}

        def app():  # type: ignore[no-untyped-def]
            return TestClient(create_app(settings, with_collector=False, webhook_worker=False,
                                         job_worker=False))

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        with app() as off:
            tracing.install(provider)
            try:
                with app() as on:
                    for client in (off, on):
                        _cpu_ms(client, "/v1/magnets", auth, 20)  # warm up
                    for _ in range(ROUNDS):
                        samples["healthz"] += _cpu_ms(off, "/healthz", {}, N // ROUNDS)
                        samples["off"] += _cpu_ms(off, "/v1/magnets", auth, N // ROUNDS)
                        samples["on"] += _cpu_ms(on, "/v1/magnets", auth, N // ROUNDS)
                        exporter.clear()
            finally:
                tracing.install(None)
    return {k: statistics.median(v) for k, v in samples.items()}


def main() -> int:
    single, multi = _metrics_us(False), _metrics_us(True)
    r = _requests()
    print(f"request metrics: {single:.1f} us CPU/request in one process, {multi:.1f} us in "
          f"multi-process mode = {single / 10 / r['off']:.2f} % / {multi / 10 / r['off']:.2f} % "
          f"of a GET /v1/magnets ({r['off']:.2f} ms CPU)")
    print(f"GET /v1/magnets, median CPU: tracing off {r['off']:.2f} ms "
          f"({r['off'] / r['healthz']:.1f} x /healthz, {r['healthz']:.2f} ms); tracing on "
          f"{r['on']:.2f} ms ({r['on'] / r['healthz']:.1f} x); on/off {r['on'] / r['off']:.2f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
