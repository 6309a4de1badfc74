"""Start-up of the `lodestone` command: --help, init (fresh data directory) and seed, each
the median of 5 runs, beside `python -c pass` (the interpreter's own start) in the same run.

    python benchmarks/cli.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5


def _time(args: Callable[[int], list[str]], env: dict[str, str],
          before: Callable[[], None] | None = None) -> float:
    samples = []
    for run in range(RUNS):
        if before is not None:
            before()
        t0 = time.perf_counter()
        subprocess.run(args(run), env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> int:
    data = Path(tempfile.mkdtemp(prefix="lodestone-cli-bench-"))
    env = {**os.environ, "LODESTONE_DATA_DIR": str(data), "LODESTONE_ENV": "development"}
    cli = [sys.executable, "-m", "lodestone.cli"]

    def fresh() -> None:
        shutil.rmtree(data, ignore_errors=True)

    try:
        anchor = _time(lambda _: [sys.executable, "-c", "pass"], env)
        figures = {
            "lodestone --help": _time(lambda _: [*cli, "--help"], env),
            "lodestone init (fresh data dir)": _time(lambda _: [*cli, "init"], env, fresh),
        }
        subprocess.run([*cli, "init"], env=env, cwd=ROOT, check=True, capture_output=True)
        figures["lodestone seed"] = _time(lambda run: [*cli, "seed", "--slug", f"b{run}"], env)
    finally:
        fresh()
    print(f"load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"anchor  python -c pass: {anchor * 1000:.0f} ms")
    for name, seconds in figures.items():
        print(f"{name:34s} {seconds * 1000:7.0f} ms  = {seconds / anchor:5.1f} x the anchor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
