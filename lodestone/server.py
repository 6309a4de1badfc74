"""Run an ASGI app with uvicorn (httptools/uvloop) or granian, N worker processes."""

from __future__ import annotations

import os

from kernel.settings import get_settings


def run_server(target: str, host: str | None, port: int | None, workers: int, server: str) -> int:
    settings = get_settings()
    host = host or settings.api_host
    port = port or settings.api_port
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        prom = settings.data_path / "prometheus"
        prom.mkdir(parents=True, exist_ok=True)
        for f in prom.glob("*.db"):
            f.unlink()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
    if server == "granian":
        from granian import Granian
        from granian.constants import Interfaces

        Granian(target, address=host, port=port, workers=workers, interface=Interfaces.ASGI).serve()
        return 0
    import uvicorn

    uvicorn.run(target, host=host, port=port, workers=workers, loop="uvloop", http="httptools",
                access_log=False, log_level="warning", timeout_graceful_shutdown=10)
    return 0

