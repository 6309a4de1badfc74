"""A loaded collector worker runs no cyclic garbage-collector pass (docs/tracking.md).

With Python's default thresholds every few hundred requests in flight triggered a pass that
rescanned all of them; ``GC_THRESHOLD`` leaves requests, which free what they allocate, to
reference counting. The control run with the default thresholds proves the count works.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ingestion.collector import GC_THRESHOLD
from tests.helpers import ROOT, child_env
from tests.ingestion.support import setup_storage


def _probe(settings_dir: Path, site_key: str, env: dict[str, str], *extra: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "tests.ingestion.pixel_gc_probe", str(settings_dir), site_key, *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_pixel_requests_in_flight_trigger_no_collector_pass(tmp_path: Path) -> None:
    settings, org, _ = setup_storage(tmp_path / "data")
    env = child_env(settings)
    tuned = _probe(settings.data_path, org.site_key, env)
    assert tuned["ok"] == tuned["requests"] == 4096
    assert tuned["threshold"] == list(GC_THRESHOLD)
    assert tuned["passes"] == [0, 0, 0]
    control = _probe(settings.data_path, org.site_key, env, "--default-gc")
    assert control["ok"] == 4096
    assert control["passes"][0] >= 20, control  # Python's default: a pass every ~700 objects
