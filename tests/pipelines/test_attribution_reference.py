"""Markov attribution against channelattribution (Altomare & Loris), an independent
simulation-based implementation.

The golden test replays channelattribution 2.2.5's answer stored by
benchmarks/attribution_golden.py, so it runs without the package; the live test runs
the package itself when it is installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from pipelines.attribution import attribute
from pipelines.attribution.simulate import simulate_paths

GOLDEN = json.loads(
    (Path(__file__).parent / "data" / "channelattribution_golden.json").read_text())
TOLERANCE_PP = 1.0  # percentage points of a channel's share


def shares(credit: dict[str, float]) -> dict[str, float]:
    total = sum(credit.values())
    return {ch: 100 * c / total for ch, c in credit.items()}


def assert_shares_agree(ours: dict[str, float], theirs: dict[str, float]) -> None:
    a, b = shares(ours), shares(theirs)
    assert a.keys() == b.keys()
    worst = max(abs(a[ch] - b[ch]) for ch in a)
    assert worst < TOLERANCE_PP, {ch: (round(a[ch], 2), round(b[ch], 2)) for ch in a}


def golden_frame() -> pl.DataFrame:
    columns = GOLDEN["path_columns"]
    return pl.DataFrame([dict(zip(columns, row, strict=True)) for row in GOLDEN["paths"]],
                        schema={"path": pl.List(pl.String), "conversions": pl.Int64,
                                "non_conversions": pl.Int64, "value": pl.Float64})


@pytest.mark.parametrize("order", [str(k) for k in sorted(int(k) for k in GOLDEN["markov"])])
@pytest.mark.parametrize("column", ["conversions", "value"])
def test_markov_matches_channelattribution_golden(order: str, column: str) -> None:
    ours = attribute(golden_frame(), "markov", int(order))
    theirs = {ch: r[column] for ch, r in GOLDEN["markov"][order].items()}
    assert_shares_agree(dict(zip(ours["channel"], ours[column], strict=True)), theirs)
    # Both attribute exactly the observed total.
    assert sum(theirs.values()) == pytest.approx(ours[column].sum(), rel=1e-6)


def simulated_frame() -> pl.DataFrame:
    sim = simulate_paths(4000, 7, seed=23, conversion_rate=0.1)
    return pl.DataFrame({
        "path": sim.path_strings(), "conversions": sim.conversions,
        "non_conversions": 1 - sim.conversions, "value": sim.value,
    }).group_by("path", maintain_order=True).sum()


@pytest.mark.parametrize("order", [1, 2])
def test_markov_matches_channelattribution_live(order: int) -> None:
    ca: Any = pytest.importorskip("ChannelAttribution")
    frame = simulated_frame()
    res = ca.markov_model(frame.to_pandas(), "path", "conversions", var_value="value",
                          var_null="non_conversions", order=order, sep=">",
                          nsim_start=3_000_000, max_step=200, conv_par=0.02, seed=0,
                          verbose=False, flg_pro=False)
    ours = attribute(frame.with_columns(pl.col("path").str.split(" > ")), "markov", order)
    for ca_col, col in [("total_conversions", "conversions"),
                        ("total_conversion_value", "value")]:
        theirs = dict(zip(res["channel_name"], np.asarray(res[ca_col], dtype=float),
                          strict=True))
        assert_shares_agree(dict(zip(ours["channel"], ours[col], strict=True)), theirs)
