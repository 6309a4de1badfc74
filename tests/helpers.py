"""Helpers shared by the tests: settings in a temporary directory, real servers on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from kernel.settings import Settings, get_settings, load_settings, settings_env

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    get_settings.cache_clear()
    return load_settings(data_dir=data_dir, env="test", secret_key="test-secret-0123456789abcdef",
                         **overrides)


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = settings_env(settings)
    env.update(DAGSTER_DISABLE_TELEMETRY="1", PYTHONUNBUFFERED="1", **extra)
    return env


@contextmanager
def running_server(settings: Settings, command: str = "serve", port: int | None = None,
                   extra_args: tuple[str, ...] = (), timeout: float = 60.0,
                   env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``lodestone <command>`` on a free port; yields (base_url, process); always stops it."""
    port = port or free_port()
    log = open(settings.data_path / f"server-{port}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "lodestone.cli", command, "--port", str(port), *extra_args],
        env=env or child_env(settings), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz", timeout, proc)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not healthy after {timeout}s")


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns a truthy value (bounded)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def run_python(code: str, settings: Settings, timeout: float = 120.0) -> str:
    """Run ``code`` in a fresh interpreter (chDB allows one data directory per process)."""
    out = subprocess.run([sys.executable, "-c", code], env=child_env(settings), cwd=ROOT,
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(f"child failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


@contextmanager
def serve_app(settings: Settings) -> Iterator[tuple[str, Any]]:
    """The API app (``create_app``) on a real uvicorn server in a thread on 127.0.0.1, its
    metadata migrated first; yields (base_url, app); always stops it."""
    import threading

    import uvicorn

    from app_api.main import create_app
    from kernel.metadata.db import make_engine, migrate

    engine = make_engine(settings.resolved_metadata_url)
    migrate(engine)
    engine.dispose()
    app = create_app(settings)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        srv.should_exit = True
        thread.join(20)
