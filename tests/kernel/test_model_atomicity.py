"""A model run killed mid-way (SIGKILL, a real process) leaves the previous model whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kernel.warehouse.lake import MANIFEST
from kernel.warehouse.lake_backend import LakeWarehouse
from tests.helpers import ROOT
from tests.pipelines.builders import at, event, load

MODEL = "daily_magnet_metrics"
#: Where the child dies: after chDB wrote the new files (before they are renamed into
#: place), or with every new file in place but before the manifest names them.
KILL_POINTS = {
    "after_insert": "import os; real = os.replace\n"
                    "os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)",
    "before_publish": "from kernel.warehouse.lake import LakeTable\n"
                      "LakeTable.publish = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)",
}


def _leads(wh: LakeWarehouse) -> int:
    return int(wh.scalar(f"SELECT sum(leads) FROM {{{{ ref('{MODEL}') }}}}"))


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_a_killed_model_run_leaves_the_previous_model_whole(tmp_path: Path, point: str) -> None:
    root = tmp_path / "lake"
    with LakeWarehouse(root) as wh:
        load(wh, [event("v1", at(0), "lead", magnet_id="m")])
        wh.materialize(MODEL)
        assert _leads(wh) == 1
        load(wh, [event(f"v{i}", at(i), "lead", magnet_id="m") for i in range(2, 5)], token="t2")
    child = subprocess.run(
        [sys.executable, "-c", "import os, signal\n" + KILL_POINTS[point] + "\n"
         "from kernel.warehouse.lake_backend import LakeWarehouse\n"
         f"LakeWarehouse({str(root)!r}).materialize({MODEL!r})\n"
         "raise SystemExit('not killed')"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr[-2000:]

    model_dir = root / "models" / MODEL
    with LakeWarehouse(root) as wh:
        assert _leads(wh) == 1  # the old model, whole: nothing of the killed run is read
        strays = {p.name for p in model_dir.iterdir()} - {MANIFEST, "_structure", "_manifest.lock"}
        listed = {f.name for f in wh._model_table(MODEL).files()}
        assert strays - listed, "the killed run should have left files behind"
        wh.materialize(MODEL)  # the next run replaces it
        assert _leads(wh) == 4
        wh._model_table(MODEL).collect_garbage(grace_seconds=0)
        listed = {f.name for f in wh._model_table(MODEL).files()}
        left = {p.name for p in model_dir.iterdir()} - {MANIFEST, "_structure", "_manifest.lock"}
        assert left == listed  # the dead run's files are collected once past the grace
