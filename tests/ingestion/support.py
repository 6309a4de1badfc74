"""Test support: real collectors on 127.0.0.1, seeded storage, polling helpers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from kernel.settings import Settings
from kernel.warehouse.lake_backend import LakeWarehouse
from lodestone.seed import SeededOrg, seed_org
from lodestone.services import init_storage, session_factory
from tests.helpers import ROOT, child_env, free_port, make_settings, running_server, wait_http

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")


class Env:
    """A running collector, its settings, two seeded organizations and a lake reader."""

    def __init__(self, settings: Settings, base: str, org: SeededOrg, other: SeededOrg) -> None:
        self.settings, self.base, self.org, self.other = settings, base, org, other
        self.http = httpx.Client(base_url=base, headers={"User-Agent": CHROME}, timeout=20)
        self.wh = LakeWarehouse(settings.lake_dir)
        self.sessions = session_factory(settings)

    def events(self, where: str = "1") -> list[dict[str, Any]]:
        return self.wh.query(f"SELECT * FROM {{{{ source('events') }}}} WHERE {where}")


def setup_storage(data_dir: Path, **overrides: object) -> tuple[Settings, SeededOrg, SeededOrg]:
    settings = make_settings(data_dir, **overrides)
    init_storage(settings)
    sessions = session_factory(settings)
    org = seed_org(sessions, settings.data_path)
    other = seed_org(sessions, settings.data_path, slug="other", name="Other Org")
    return settings, org, other


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    settings, org, other = setup_storage(tmp_path_factory.mktemp("collector") / "data")
    with running_server(settings, command="collector", timeout=120) as (base, _proc):
        e = Env(settings, base, org, other)
        yield e
        e.http.close()
        e.wh.close()


class Collector:
    """A ``lodestone collector`` process group we may SIGKILL, SIGTERM and restart."""

    def __init__(self, settings: Settings, *args: str, **env: str) -> None:
        self.settings, self.args = settings, args
        self.env = child_env(settings, **env)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        log = open(self.settings.data_path / f"collector-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lodestone.cli", "collector", "--port", str(self.port), *self.args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        log.close()
        wait_http(f"{self.base}/healthz", timeout, self.proc)

    def signal(self, sig: int, wait: float = 60.0) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        self.proc.wait(wait)
        deadline = time.monotonic() + 10  # workers of the group, too
        while time.monotonic() < deadline and _group_alive(self.proc.pid):
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.signal(signal.SIGTERM, 30)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def collector(settings: Settings, *args: str, **env: str) -> Iterator[Collector]:
    c = Collector(settings, *args, **env)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll ``predicate`` until truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
