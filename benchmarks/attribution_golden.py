"""Write tests/pipelines/data/channelattribution_golden.json from channelattribution.

Runs in a separate environment that has channelattribution (it needs numpy, pandas and
matplotlib, not polars), e.g.:

    uv venv /tmp/cavenv --python python3.11
    uv pip install --python /tmp/cavenv/bin/python channelattribution matplotlib
    /tmp/cavenv/bin/python benchmarks/attribution_golden.py

The JSON holds the input paths too, so the golden test needs neither this package nor
the simulator's random stream to reproduce the comparison.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import sys
from collections import defaultdict
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "pipelines" / "data" / "channelattribution_golden.json"
ORDERS = (1, 2, 3)
# Many simulations and no step cap, so the simulated estimate is close to the exact one.
CA_PARAMS = {"nsim_start": 10_000_000, "max_step": 200, "conv_par": 0.01, "seed": 0}
PATH_COLUMNS = ["path", "conversions", "non_conversions", "value"]
DATASET = {"n_paths": 5000, "n_channels": 6, "seed": 1, "conversion_rate": 0.08}


def _simulator() -> ModuleType:
    """Load simulate.py alone: the package __init__ needs polars, absent here."""
    path = ROOT / "pipelines" / "attribution" / "simulate.py"
    spec = importlib.util.spec_from_file_location("attribution_simulate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while decorating
    spec.loader.exec_module(module)
    return module


def aggregated_paths() -> list[list[object]]:
    """The seeded journeys, one row per distinct path, in first-seen order."""
    sim = _simulator().simulate_paths(
        DATASET["n_paths"], DATASET["n_channels"], seed=DATASET["seed"],
        conversion_rate=DATASET["conversion_rate"])
    rows: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for path, conv, value in zip(sim.path_strings(), sim.conversions.tolist(),
                                 sim.value.tolist(), strict=True):
        row = rows[path]
        row[0] += conv
        row[1] += 1 - conv
        row[2] = round(row[2] + value, 2)
    return [[p.split(" > "), int(c), int(n), v] for p, (c, n, v) in rows.items()]


def main() -> None:
    import pandas as pd
    from ChannelAttribution import markov_model

    paths = aggregated_paths()
    frame = pd.DataFrame(paths, columns=PATH_COLUMNS)
    frame["path"] = frame["path"].str.join(" > ")
    results = {}
    for order in ORDERS:
        res = markov_model(frame, "path", "conversions", var_value="value",
                           var_null="non_conversions", order=order, sep=">",
                           verbose=False, flg_pro=False, **CA_PARAMS)
        results[str(order)] = {
            ch: {"conversions": float(c), "value": float(v)}
            for ch, c, v in zip(res["channel_name"], res["total_conversions"],
                                res["total_conversion_value"], strict=True)
        }
    golden = {
        "source": "channelattribution " + importlib.metadata.version("channelattribution"),
        "call": "markov_model(paths, 'path', 'conversions', var_value='value', "
                "var_null='non_conversions', order=k, **params)",
        "params": CA_PARAMS,
        "dataset": DATASET,
        "markov": results,
        "path_columns": PATH_COLUMNS,
    }
    # One compact line per path keeps the file small and its diffs readable.
    rows = ",\n  ".join(json.dumps(r) for r in paths)
    text = json.dumps(golden, indent=1)[:-2] + f',\n "paths": [\n  {rows}\n ]\n}}\n'
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(paths)} distinct paths, orders {ORDERS}")


if __name__ == "__main__":
    main()
