"""`lodestone up` (what `make up` runs): starts every service, prints the URLs, stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kernel.settings import Settings
from tests.helpers import ROOT, child_env, free_port


def _processes_with(data_dir: Path) -> list[int]:
    """PIDs whose environment points at this test's data directory."""
    needle = f"LODESTONE_DATA_DIR={data_dir}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


@pytest.mark.slow
def test_up_starts_everything_and_ctrl_c_stops_everything(settings: Settings) -> None:
    ports = {"LODESTONE_API_PORT": free_port(), "LODESTONE_DAGSTER_PORT": free_port(),
             "LODESTONE_DASHBOARD_PORT": free_port()}
    env = child_env(settings, **{k: str(v) for k, v in ports.items()})
    proc = subprocess.Popen([sys.executable, "-m", "lodestone.cli", "up", "--visitors", "1500"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    lines: list[str] = []
    deadline = time.monotonic() + 300
    assert proc.stdout is not None
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        out = "".join(lines)
        assert "Lodestone is up" in out, out[-3000:]
        api = f"http://127.0.0.1:{ports['LODESTONE_API_PORT']}"
        assert f"http://127.0.0.1:{ports['LODESTONE_DASHBOARD_PORT']}" in out
        assert "Demo API key   ls_live_" in out
        leads = int(out.split(" magnet views, ")[1].split(" leads")[0])
        assert leads > 0
        assert httpx.get(f"{api}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ports['LODESTONE_DAGSTER_PORT']}/server_info", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ports['LODESTONE_DASHBOARD_PORT']}/_stcore/health", timeout=5).status_code == 200
        assert len(_processes_with(settings.data_path)) >= 5  # up + api + 2 dagster + streamlit
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, rest
        assert "all services stopped." in rest
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    time.sleep(1)
    assert _processes_with(settings.data_path) == [], "a service outlived `lodestone up`"
