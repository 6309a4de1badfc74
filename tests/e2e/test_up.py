"""`lodestone up` (what `make up` runs): starts every service, prints the URLs, stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
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


REFRESH_S = 5
#: Under the 5-minute contract: the sensor's interval, a run's start (a process importing
#: the definitions: ~10 s of CPU, minutes of wall time on 2 cores shared with other work),
#: the model, the shipper.
BOUND_S = 240


def _an_event_sent_now_is_counted_within_the_bound(api: str, api_key: str, logs: Path) -> None:
    """With live traffic flowing, a new event reaches /v1/stats with nobody acting."""
    magnet = f"fresh-{uuid.uuid4().hex[:12]}"
    headers = {"Authorization": f"Bearer {api_key}"}
    sent = time.monotonic()
    r = httpx.post(f"{api}/v1/events", headers=headers, timeout=10, json={"events": [
        {"event": "magnet_view", "magnet_id": magnet, "visitor_id": "fresh-visitor"}]})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    views = 0.0
    while time.monotonic() - sent < BOUND_S and views < 1:
        time.sleep(2)
        stats = httpx.get(f"{api}/v1/stats/daily-magnet-metrics", params={"magnet_id": magnet},
                          headers=headers, timeout=30).json()
        views = stats["totals"]["views"]
    daemon = (logs / "dagster-daemon.log").read_text(errors="replace")[-3000:]
    assert views == 1, f"the event was not counted within {BOUND_S}s; daemon log:\n{daemon}"


@pytest.mark.slow
def test_up_starts_everything_and_ctrl_c_stops_everything(settings: Settings) -> None:
    ports = {"LODESTONE_API_PORT": free_port(), "LODESTONE_DAGSTER_PORT": free_port(),
             "LODESTONE_DASHBOARD_PORT": free_port()}
    # a short refresh interval stands in for the 60 s default; the partitions start at the
    # first simulated day, as on a fresh install
    env = child_env(settings, **{k: str(v) for k, v in ports.items()},
                    LODESTONE_REFRESH_INTERVAL_S=str(REFRESH_S), LODESTONE_PARTITIONS_START="")
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
        before_banner = out.split("Lodestone is up")[0].strip().splitlines()
        # simulating, materializing, one verdict per experiment: no library chatter
        assert len(before_banner) <= 6, before_banner
        api = f"http://127.0.0.1:{ports['LODESTONE_API_PORT']}"
        assert f"http://127.0.0.1:{ports['LODESTONE_DASHBOARD_PORT']}" in out
        assert "Demo API key   ls_live_" in out
        leads = int(out.split(" magnet views, ")[1].split(" leads")[0])
        assert leads > 0
        assert httpx.get(f"{api}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ports['LODESTONE_DAGSTER_PORT']}/server_info", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ports['LODESTONE_DASHBOARD_PORT']}/_stcore/health", timeout=5).status_code == 200
        assert len(_processes_with(settings.data_path)) >= 5  # up + api + 2 dagster + streamlit
        api_key = out.split("Demo API key   ")[1].split()[0]
        _an_event_sent_now_is_counted_within_the_bound(api, api_key, settings.data_path / "logs")
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, rest
        assert "all services stopped." in rest
        # live traffic flowed all along: not one httpx (or other INFO) line on the console
        assert "httpx" not in rest and "HTTP Request" not in rest, rest
        assert (settings.data_path / "logs" / "up.log").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    time.sleep(1)
    assert _processes_with(settings.data_path) == [], "a service outlived `lodestone up`"
