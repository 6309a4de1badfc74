"""The hourly cycle as the Dagster daemon runs it, beside the same assets in one process.

    .venv/bin/python benchmarks/automation.py                  # 20,000 visitors (as `up`)
    .venv/bin/python benchmarks/automation.py --visitors 5000

The hourly cycle is one ``analytics_cycle`` run over today's partition, in a fresh process
as the daemon's run launcher starts it (``dagster job execute``: import the definitions,
then execute), with the in-process executor (the product's choice); beside it the two runs
the schedule used to launch (``analytics_daily`` then ``analytics_rollup``), and the daily
run with the multiprocess executor (one more process per step) to show what it costs.
The anchor, measured in the same run on the same lake, is one process that materializes
the same assets with ``dagster.materialize``. Wall time and CPU (user + system of every
child process) for each; the goal is a cycle within 1.5x of the anchor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

DAILY = ["sessions", "experiment_results"]
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of a child process (and of every process it starts)."""
    c0, t0 = _children_cpu(), time.perf_counter()
    out = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if out.returncode:
        raise SystemExit(f"{' '.join(argv[:6])} failed:\n{out.stderr[-3000:]}")
    print(f"  {' '.join(Path(a).name for a in argv[:7])}: {wall:.1f}s wall, {cpu:.1f}s CPU",
          flush=True)
    return wall, cpu


def prepare(root: Path, visitors: int) -> dict[str, str]:
    """Seed the demo org, simulate 30 days directly into a lake; the children's environment."""
    from kernel.settings import settings_env
    from lodestone.seed import seed_org
    from lodestone.services import dagster_home, init_storage, session_factory
    from lodestone.simulate import simulate
    from tests.helpers import make_settings

    settings = make_settings(root, partitions_start="")
    init_storage(settings)
    org = seed_org(session_factory(settings), settings.data_path)
    from kernel.warehouse import open_warehouse

    wh = open_warehouse(settings)
    try:
        simulate([org], visitors, 30, seed=20261129, warehouse=wh)
    finally:
        wh.close()
    env = settings_env(settings)
    env.update(DAGSTER_HOME=str(dagster_home(settings)), DAGSTER_DISABLE_TELEMETRY="1")
    return env


def in_process(today: str) -> None:
    """The anchor: the cycle's assets (and their checks) materialized in this one process."""
    from dagster import AssetSelection, DagsterInstance, materialize

    from orchestration.definitions import all_assets, all_checks
    from orchestration.resources import MetadataResource, WarehouseResource

    resources = {"warehouse": WarehouseResource(), "metadata": MetadataResource()}
    everything: list[Any] = [*all_assets, *all_checks]
    rollup = AssetSelection.groups("analytics") - AssetSelection.assets(*DAILY)
    with DagsterInstance.get() as instance:
        for kwargs in ({"selection": AssetSelection.assets(*DAILY), "partition_key": today},
                       {"selection": rollup}):
            result = materialize(everything, resources=resources, instance=instance,
                                 run_config=QUIET, **kwargs)
            if not result.success:
                raise SystemExit("in-process materialization failed")


def multiprocess_defs() -> Any:
    """The product's definitions with the multiprocess executor, for comparison."""
    from dagster import Definitions, multiprocess_executor

    from orchestration import definitions as d
    from orchestration.jobs import analytics_daily
    from orchestration.resources import MetadataResource, WarehouseResource

    return Definitions(assets=[d.events, *d.all_assets], asset_checks=d.all_checks,
                       jobs=[analytics_daily],
                       resources={"warehouse": WarehouseResource(), "metadata": MetadataResource()},
                       executor=multiprocess_executor)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--in-process", dest="in_process", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        in_process(args.in_process)
        return 0
    today = dt.datetime.now(dt.UTC).date().isoformat()
    py, dagster = sys.executable, str(Path(sys.executable).with_name("dagster"))
    with tempfile.TemporaryDirectory(prefix="lodestone-bench-") as tmp:
        t0 = time.perf_counter()
        env = prepare(Path(tmp) / "data", args.visitors)
        print(f"lake: {args.visitors} visitors simulated in {time.perf_counter() - t0:.1f}s")
        results: dict[str, tuple[float, float]] = {}
        results["start: import the definitions"] = timed(
            [py, "-c", "import orchestration.definitions"], env)
        results["anchor: in-process materialize"] = timed(
            [py, str(Path(__file__)), "--in-process", today], env)
        tags = json.dumps({"dagster/partition": today})
        product = ["-m", "orchestration.definitions"]
        results["cycle: one analytics_cycle run"] = timed(
            [dagster, "job", "execute", *product, "-j", "analytics_cycle", "--tags", tags], env)
        daily = timed([dagster, "job", "execute", *product, "-j", "analytics_daily",
                       "--tags", tags], env)
        rollup = timed([dagster, "job", "execute", *product, "-j", "analytics_rollup"], env)
        results["before: daily run + roll-up run"] = (daily[0] + rollup[0], daily[1] + rollup[1])
        results["executor: daily run, in_process"] = daily
        results["executor: daily run, multiprocess"] = timed(
            [dagster, "job", "execute", "-f", str(Path(__file__)), "-a", "multiprocess_defs",
             "-j", "analytics_daily", "--tags", tags], env)
    anchor_wall, anchor_cpu = results["anchor: in-process materialize"]
    print(f"{'':48} {'wall s':>8} {'CPU s':>8} {'wall/anchor':>12} {'CPU/anchor':>11}")
    for label, (wall, cpu) in results.items():
        print(f"{label:48} {wall:8.1f} {cpu:8.1f} {wall / anchor_wall:11.2f}x "
              f"{cpu / anchor_cpu:10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
