"""Run an ASGI app with uvicorn (httptools/uvloop) or granian, N worker processes.

Both servers run the app's lifespan, so each worker opens its own spool slot on start and
drains it on SIGTERM/SIGINT. The numbers behind the choice of server are in
docs/tracking.md ("Server choice"), measured by ``python benchmarks/ingest.py``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from kernel.settings import Environment, get_settings
from kernel.telemetry import is_loopback

SERVERS = ("uvicorn", "granian")


#: Allocator settings for the collector's processes, read by glibc and Arrow at start-up.
#: glibc gives every thread its own malloc arena (up to 8 per core), and Arrow allocates
#: from mimalloc, which keeps freed segments for reuse: after a burst of batches the
#: collector's PSS (parent + 2 workers) stayed at 337-364 MB against 220 at start. With Arrow
#: on the system allocator (large buffers are mmapped, and unmapped when freed) and two
#: arenas it stayed at 264-301 MB, with one arena 251-258 MB; in `benchmarks/ingest.py`
#: (median of 3) 308 MB with two, 291 with one, batch throughput / bare route 0.17 both.
#: Both are read once, when the process starts (setting them later, or with mallopt and
#: pyarrow.set_memory_pool, changed nothing).
LEAN_ALLOCATORS = {"MALLOC_ARENA_MAX": "1", "ARROW_DEFAULT_MEMORY_POOL": "system"}


def reexec_with_lean_allocators(argv: Sequence[str]) -> None:
    """Replace this process (same pid) by ``python -m lodestone.cli *argv`` with
    :data:`LEAN_ALLOCATORS` in its environment, unless they are already there (or set
    otherwise by the operator: their values win)."""
    missing = {k: v for k, v in LEAN_ALLOCATORS.items() if k not in os.environ}
    if missing:
        os.execve(sys.executable, [sys.executable, "-m", "lodestone.cli", *argv],
                  {**os.environ, **missing})


def run_server(target: str, host: str | None, port: int | None, workers: int, server: str,
               preload: Callable[[], object] | None = None) -> int:
    """Serve ``target`` ("module:app") until interrupted; returns the exit status.

    ``preload`` runs before granian forks its workers (imports, caches, compiled regexes):
    what it loads is then shared copy-on-write by every worker instead of loaded once per
    worker (uvicorn spawns fresh interpreters, so it gains nothing from this).
    """
    settings = get_settings()
    host = host or settings.api_host
    port = port or settings.api_port
    if (settings.env is Environment.production and not settings.metrics_token
            and not is_loopback(host)):
        raise SystemExit(f"refusing to serve /metrics unprotected on {host}: set the "
                         "token Prometheus sends as a bearer token, LODESTONE_METRICS_TOKEN")
    if server not in SERVERS:
        raise ValueError(f"unknown server {server!r}; expected one of {SERVERS}")
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        prom = settings.data_path / "prometheus"
        prom.mkdir(parents=True, exist_ok=True)
        for f in prom.glob("*.db"):
            f.unlink()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
    if server == "granian":
        import gc

        from granian import Granian

        if preload is not None:
            preload()
        gc.freeze()  # the preloaded objects: keep the cyclic collector from touching their pages
        from granian.constants import HTTPModes, Interfaces, Loops

        Granian(
            target, address=host, port=port, workers=workers, interface=Interfaces.ASGI,
            loop=Loops.uvloop, http=HTTPModes.http1, websockets=False, log_access=False,
            backlog=2048, workers_kill_timeout=30,
        ).serve()
        return 0
    import uvicorn

    uvicorn.run(target, host=host, port=port, workers=workers, loop="uvloop", http="httptools",
                access_log=False, log_level="warning", timeout_graceful_shutdown=10,
                log_config=None,  # our handlers (kernel/logs.py), not uvicorn's own
                backlog=2048)
    return 0
