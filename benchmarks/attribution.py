"""Markov attribution on 1M simulated journeys: ours against channelattribution.

    .venv/bin/python benchmarks/attribution.py --ca-python /tmp/cavenv/bin/python

channelattribution runs in a subprocess (``--ca-python``, default: this interpreter if
it can import ChannelAttribution), reading the same journeys from a CSV; only its
``markov_model`` call is timed, as only our ``attribute`` call is timed here. Both start
from one row per journey. Prints both times, their ratio and the largest difference in a
channel's share of conversions (percentage points).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def ca_worker(csv_path: str, order: int, ncore: int) -> None:
    """Run under channelattribution's interpreter: time markov_model, print JSON."""
    import pandas as pd
    from ChannelAttribution import markov_model

    frame = pd.read_csv(csv_path)
    start = time.perf_counter()
    res = markov_model(frame, "path", "conversions", var_value="value",
                       var_null="non_conversions", order=order, sep=">", ncore=ncore,
                       verbose=False, flg_pro=False)
    seconds = time.perf_counter() - start
    credit = dict(zip(res["channel_name"], map(float, res["total_conversions"]), strict=True))
    sys.stdout.write("\nCA_RESULT " + json.dumps({"seconds": seconds, "credit": credit}) + "\n")


def journeys_frame(n_paths: int, n_channels: int, seed: int) -> Any:
    """One row per simulated journey: path, conversions, non_conversions, value."""
    import numpy as np
    import polars as pl

    from pipelines.attribution.simulate import simulate_paths

    sim = simulate_paths(n_paths, n_channels, seed=seed, conversion_rate=0.03)
    lengths = np.diff(sim.offsets)
    touches = pl.DataFrame({
        "channel": pl.Series(list(sim.channels)).gather(sim.codes),
        "journey": np.repeat(np.arange(n_paths), lengths),
    })
    paths = touches.group_by("journey", maintain_order=True).agg(pl.col("channel").alias("path"))
    return paths.select(
        "path",
        conversions=pl.Series(sim.conversions),
        non_conversions=pl.Series(1 - sim.conversions),
        value=pl.Series(sim.value),
    )


def run_ca(ca_python: str, csv_path: Path, order: int, ncore: int) -> dict[str, Any]:
    proc = subprocess.run(
        [ca_python, __file__, "--ca-worker", str(csv_path), "--orders", str(order),
         "--ca-ncore", str(ncore)],
        capture_output=True, text=True, check=True)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("CA_RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("CA_RESULT "))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--orders", default="1,2", help="comma-separated Markov orders")
    parser.add_argument("--repeats", type=int, default=3, help="our runs; the median counts")
    parser.add_argument("--ca-python", help="python with ChannelAttribution installed")
    parser.add_argument("--ca-ncore", type=int, default=1, help="channelattribution threads")
    parser.add_argument("--ca-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    orders = [int(x) for x in args.orders.split(",")]
    if args.ca_worker:
        ca_worker(args.ca_worker, orders[0], args.ca_ncore)
        return

    sys.path.insert(0, str(ROOT))
    import importlib.util

    from pipelines.attribution import attribute

    ca_python = args.ca_python
    if ca_python is None and importlib.util.find_spec("ChannelAttribution") is not None:
        ca_python = sys.executable

    t0 = time.perf_counter()
    frame = journeys_frame(args.paths, args.channels, args.seed)
    conv = frame["conversions"].sum()
    print(f"{frame.height:,} journeys, {args.channels} channels, {conv:,} conversions "
          f"({conv / frame.height:.1%}), mean length {frame['path'].list.len().mean():.2f}, "
          f"{frame['path'].n_unique():,} distinct paths (simulated in "
          f"{time.perf_counter() - t0:.1f} s)")
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "journeys.csv"
        if ca_python:
            import polars as pl

            frame.with_columns(pl.col("path").list.join(" > ")).write_csv(csv_path)
        for order in orders:
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                ours = attribute(frame, "markov", order)
                times.append(time.perf_counter() - start)
            ours_s = statistics.median(times)
            line = f"order {order}: lodestone {ours_s:.2f} s"
            if ca_python:
                ca = run_ca(ca_python, csv_path, order, args.ca_ncore)
                share = dict(zip(ours["channel"], ours["conversions"] / conv, strict=True))
                diff = max(abs(share[ch] - c / conv) for ch, c in ca["credit"].items())
                line += (f", channelattribution {ca['seconds']:.2f} s "
                         f"(ncore={args.ca_ncore}), ratio {ca['seconds'] / ours_s:.1f}x faster; "
                         f"max share difference {diff * 100:.2f} pp")
            else:
                line += " (channelattribution not run: pass --ca-python)"
            print(line, flush=True)


if __name__ == "__main__":
    main()
