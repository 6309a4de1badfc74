"""Analytics assets over simulated events on the embedded lake: full and incremental runs.

    .venv/bin/python benchmarks/pipelines.py                 # 10M events, 2 orgs, 30 days
    .venv/bin/python benchmarks/pipelines.py --events 1000000

Every figure is printed beside an anchor measured in the same run on the same lake: a plain
scan ``SELECT count(), sum(value) FROM events`` (cold, then the median of 3 warm runs). The
generated lake is cached in ``--cache`` (keyed by size, orgs, days and seed) so reruns time
only the analytics; ``--fresh`` regenerates it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# This script shares its name with the ``pipelines`` package: import the package, not itself.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

EVENTS_PER_VISITOR = 5.95  # measured on the simulator's journeys (30 days)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _settings(root: Path) -> Any:
    from tests.helpers import make_settings

    return make_settings(root)


def generate(root: Path, events: int, orgs: int, days: int, seed: int) -> dict[str, Any]:
    """Seed ``orgs`` organizations and write ~``events`` simulated events into a new lake."""
    import random

    from kernel.metadata.db import migrate
    from kernel.warehouse.lake_backend import LakeWarehouse
    from lodestone.seed import seed_org
    from lodestone.services import session_factory
    from lodestone.simulate import SEGMENT_ROWS, generate_table

    settings = _settings(root)
    root.mkdir(parents=True, exist_ok=True)
    migrate(settings.resolved_metadata_url)
    sessions = session_factory(settings)
    seeded = [seed_org(sessions, root)] + [
        seed_org(sessions, root, slug=f"sim-{i}", name=f"Simulated Org {i}")
        for i in range(2, orgs + 1)]
    wh = LakeWarehouse(settings.lake_dir)
    wh.migrate()
    visitors = int(events / EVENTS_PER_VISITOR / orgs)
    rng = random.Random(seed)
    now = int(time.time() * 1000)
    gen_s = write_s = 0.0
    total = 0
    for i, org in enumerate(seeded):
        t0 = time.perf_counter()
        table, _ = generate_table(org, visitors, days, rng.getrandbits(63), now)
        t1 = time.perf_counter()
        for j in range(0, table.num_rows, SEGMENT_ROWS):
            wh.insert_events(table.slice(j, SEGMENT_ROWS), f"bench-{i}-{j}")
        gen_s += t1 - t0
        write_s += time.perf_counter() - t1
        total += table.num_rows
    wh.close()
    info = {"events": total, "visitors": visitors * orgs, "generate_s": gen_s,
            "write_s": write_s}
    (root / "bench.json").write_text(json.dumps(info))
    return info


def anchor(lake: Path) -> tuple[float, float]:
    """Cold and warm (median of 3) time of the plain scan, in a fresh chDB session."""
    from kernel.warehouse.lake_backend import LakeWarehouse

    sql = "SELECT count(), sum(value) FROM {{ source('events') }}"
    with LakeWarehouse(lake) as wh:
        t0 = time.perf_counter()
        wh.query(sql)
        cold = time.perf_counter() - t0
        warm = []
        for _ in range(3):
            t0 = time.perf_counter()
            wh.query(sql)
            warm.append(time.perf_counter() - t0)
    return cold, statistics.median(warm)


def step_times(records: list[Any]) -> dict[str, float]:
    """Seconds per asset step, from a run's event log records."""
    started: dict[str, float] = {}
    took: dict[str, float] = {}
    for record in records:
        ev = record.event_log_entry.dagster_event
        if ev is None or not ev.step_key:
            continue
        if ev.event_type_value == "STEP_START":
            started[ev.step_key] = record.timestamp
        elif ev.event_type_value == "STEP_SUCCESS" and ev.step_key in started:
            took[ev.step_key] = record.timestamp - started[ev.step_key]
    return took


def cpu_seconds() -> float:
    """CPU time of this process (chDB runs in it), user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(root: Path, **selection: Any) -> tuple[float, float, dict[str, float]]:
    """Materialize (everything by default) on the lake in ``root``: wall time, CPU time and
    the wall time of each step."""
    from dagster import DagsterInstance, materialize

    from orchestration.definitions import all_assets, all_checks
    from orchestration.resources import MetadataResource, WarehouseResource

    settings = _settings(root)
    resources = {"warehouse": WarehouseResource(data_dir=str(root)),
                 "metadata": MetadataResource(metadata_url=settings.resolved_metadata_url)}
    assets = selection.pop("assets", [*all_assets, *all_checks])
    with DagsterInstance.ephemeral() as instance:
        t0, c0 = time.perf_counter(), cpu_seconds()
        result = materialize(assets, resources=resources, instance=instance, run_config=QUIET,
                             **selection)
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        if not result.success:
            raise SystemExit("materialization failed")
        records = list(instance.get_records_for_run(result.run_id, limit=100_000).records)
    return elapsed, cpu, step_times(records)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--orgs", type=int, default=2)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cache", type=Path, default=Path("/tmp/lodestone-bench"))
    p.add_argument("--fresh", action="store_true", help="regenerate the cached lake")
    args = p.parse_args()

    root = args.cache / f"{args.events}-{args.orgs}o-{args.days}d-s{args.seed}"
    if args.fresh and root.exists():
        shutil.rmtree(root)
    if (root / "bench.json").exists():
        info = json.loads((root / "bench.json").read_text())
        print(f"lake: {info['events']:,} cached events in {root}")
    else:
        info = generate(root, args.events, args.orgs, args.days, args.seed)
        us = 1e6 * info["generate_s"] / info["events"]
        print(f"generated {info['events']:,} events ({info['visitors']:,} visitors) in "
              f"{info['generate_s']:.1f} s ({us:.2f} µs/event), wrote the lake in "
              f"{info['write_s']:.1f} s")

    from orchestration.assets.experiments import experiment_results
    from orchestration.assets.sessions import sessions

    cold, warm = anchor(root / "lake")
    print(f"anchor  SELECT count(), sum(value) FROM events: cold {cold:.2f} s, warm {warm:.3f} s")

    load = os.getloadavg()[0]
    full, cpu, steps = run(root)
    print(f"full materialization, every asset and check: {full:.1f} s "
          f"= {full / cold:.0f}x the cold anchor ({'<=' if full <= 60 else '>'} 60 s budget); "
          f"process CPU {cpu:.1f} s on {os.cpu_count()} cores; load average before/after "
          f"{load:.1f}/{os.getloadavg()[0]:.1f} (other processes share the cores)")
    for step, secs in sorted(steps.items(), key=lambda kv: -kv[1]):
        print(f"  {step:<40} {secs:6.1f} s  {secs / cold:6.1f}x anchor")

    from kernel.warehouse.lake_backend import LakeWarehouse

    with LakeWarehouse(root / "lake") as wh:
        day = sorted({f.partition for f in wh._model_table("sessions").files()})[-2]
        before = {m: {f.partition: f.name for f in wh._model_table(m).files()}
                  for m in ("sessions", "experiment_results")}
    daily, daily_cpu, _ = run(root, assets=[sessions, experiment_results], partition_key=day)
    with LakeWarehouse(root / "lake") as wh:
        touched = {m: sorted(p for p, n in {f.partition: f.name for f in
                                             wh._model_table(m).files()}.items()
                             if before[m].get(p) != n)
                   for m in before}
    print(f"incremental daily run ({day}: sessions + experiment_results): {daily:.1f} s "
          f"= {daily / cold:.0f}x the cold anchor, CPU {daily_cpu:.1f} s; partitions "
          f"rewritten: {touched}")


if __name__ == "__main__":
    main()
