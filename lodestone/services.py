"""Start-up helpers shared by the CLI: storage initialization and child-process supervision."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kernel.metadata.db import make_engine, make_session_factory, migrate
from kernel.settings import Settings
from kernel.warehouse import open_warehouse

log = logging.getLogger(__name__)

def instance_yaml(settings: Settings) -> str:
    """``dagster.yaml`` of the instance that ``up`` runs: queued runs sized for 2 cores.

    At most ``dagster_max_concurrent_runs`` runs at once and only one ``heavy`` one among
    them (daily partitions, roll-up, compaction: each keeps a core busy for minutes), so the
    ``light`` metrics refresh always finds a free slot and the API's numbers stay fresh.
    """
    return f"""\
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: {settings.dagster_max_concurrent_runs}
    tag_concurrency_limits:
      - key: "lodestone/lane"
        value: "heavy"
        limit: 1
    dequeue_interval_seconds: 2
"""


def init_storage(settings: Settings) -> dict[str, list[str]]:
    """Create the data directory, migrate the metadata database and the warehouse."""
    settings.data_path.mkdir(parents=True, exist_ok=True)
    migrate(settings.resolved_metadata_url)
    wh = open_warehouse(settings)
    try:
        applied = wh.migrate()
    finally:
        wh.close()
    return {"warehouse": applied}


def session_factory(settings: Settings):  # type: ignore[no-untyped-def]
    return make_session_factory(make_engine(settings.resolved_metadata_url), settings)


def dagster_home(settings: Settings) -> Path:
    home = settings.data_path / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(instance_yaml(settings))
    return home


def _default_signals() -> None:  # runs in the child before exec
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    health_url: str = ""
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None


@dataclass
class Supervisor:
    """Starts children in their own process groups and stops every one of them."""

    env: dict[str, str]
    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(self, child: Child) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        child.log_path = self.log_dir / f"{child.name}.log"
        out = open(child.log_path, "ab")  # noqa: SIM115 - owned by the child
        child.proc = subprocess.Popen(
            list(child.argv), env=self.env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_default_signals,
        )
        self.children.append(child)
        return child

    def wait_healthy(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        pending = [c for c in self.children if c.health_url]
        while pending:
            for c in list(pending):
                assert c.proc is not None
                if c.proc.poll() is not None:
                    tail = c.log_path.read_text(errors="replace")[-2000:] if c.log_path else ""
                    raise RuntimeError(f"{c.name} exited with {c.proc.returncode}:\n{tail}")
                try:
                    if httpx.get(c.health_url, timeout=2).status_code < 500:
                        pending.remove(c)
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                names = ", ".join(c.name for c in pending)
                raise RuntimeError(f"not healthy after {timeout:.0f}s: {names} (see {self.log_dir})")
            time.sleep(0.5)

    def poll_dead(self) -> Child | None:
        for c in self.children:
            if c.proc is not None and c.proc.poll() is not None:
                return c
        return None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM every process group, then SIGKILL what is left after ``timeout``."""
        for c in reversed(self.children):
            if c.proc is not None and c.proc.poll() is None:
                try:
                    os.killpg(c.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for c in self.children:
            if c.proc is None:
                continue
            try:
                c.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", c.name)
            try:
                os.killpg(c.proc.pid, signal.SIGKILL)  # stragglers in the group, if any
            except (ProcessLookupError, PermissionError):
                pass
            c.proc.wait()


def venv_bin(name: str) -> str:
    """Path of a console script installed beside the running interpreter."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name
