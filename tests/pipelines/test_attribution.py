"""attribute(): worked examples by hand, conservation, Shapley by brute force, bad input."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.attribution import MODELS, attribute


def credit(frame: pl.DataFrame, model: str, **kw: object) -> dict[str, tuple[float, float]]:
    out = attribute(frame, model, **kw)  # type: ignore[arg-type]
    return {ch: (c, v) for ch, c, v in out.iter_rows()}


def assert_credit(got: Mapping[str, tuple[float, float]],
                  want: Mapping[str, tuple[float, float]]) -> None:
    assert got.keys() == want.keys()
    for ch, (c, v) in want.items():
        assert got[ch][0] == pytest.approx(c, abs=1e-9), ch
        assert got[ch][1] == pytest.approx(v, abs=1e-9), ch


# 4 conversions worth 140 in total; the social-only row never converts.
RULES = pl.DataFrame({
    "path": [["search", "social", "email", "direct"], ["email", "direct"], ["direct"],
             ["social"]],
    "conversions": [2, 1, 1, 0],
    "non_conversions": [0, 0, 0, 5],
    "value": [100.0, 30.0, 10.0, 0.0],
})


def test_first_touch() -> None:
    # row 1 → search (2, 100); row 2 → email (1, 30); row 3 → direct (1, 10)
    assert_credit(credit(RULES, "first_touch"), {
        "search": (2, 100), "email": (1, 30), "direct": (1, 10), "social": (0, 0)})


def test_last_touch_skips_direct_unless_path_is_all_direct() -> None:
    # rows 1 and 2 end on direct, so their last non-direct touch is email: 2 + 1 = 3,
    # 100 + 30 = 130; row 3 is only direct, so direct keeps it (1, 10).
    assert_credit(credit(RULES, "last_touch"), {
        "search": (0, 0), "social": (0, 0), "email": (3, 130), "direct": (1, 10)})
    # With another name for direct, the plain last touch wins: direct takes everything.
    assert_credit(credit(RULES, "last_touch", direct_channel="(none)"), {
        "search": (0, 0), "social": (0, 0), "email": (0, 0), "direct": (4, 140)})


def test_linear() -> None:
    # row 1: 4 touches × (2/4 = 0.5 conv, 100/4 = 25); row 2: 2 × (0.5, 15); row 3: (1, 10)
    # direct = 0.5 + 0.5 + 1 = 2 (25 + 15 + 10 = 50); email = 0.5 + 0.5 = 1 (25 + 15 = 40)
    assert_credit(credit(RULES, "linear"), {
        "search": (0.5, 25), "social": (0.5, 25), "email": (1, 40), "direct": (2, 50)})


def test_position_based() -> None:
    # row 1 (4 touches): 40/10/10/40 % of (2, 100) → search 0.8/40, social 0.2/10,
    #   email 0.2/10, direct 0.8/40; row 2 (2 touches): 50/50 of (1, 30) → 0.5/15 each;
    # row 3 (1 touch): 100 % of (1, 10) → direct.
    # direct = 0.8 + 0.5 + 1 = 2.3 (40 + 15 + 10 = 65); email = 0.2 + 0.5 = 0.7 (10 + 15)
    assert_credit(credit(RULES, "position_based"), {
        "search": (0.8, 40), "social": (0.2, 10), "email": (0.7, 25), "direct": (2.3, 65)})


def test_time_decay_with_datetimes_and_seconds() -> None:
    t0 = datetime(2024, 3, 1)
    day = 86_400.0
    timed = pl.DataFrame({
        "path": [["search", "social", "email"], ["email"]],
        "touch_times": [[t0, t0 + timedelta(days=7), t0 + timedelta(days=14)], [t0]],
        "conversion_time": [t0 + timedelta(days=14), None],
        "conversions": [1, 1], "non_conversions": [0, 0], "value": [70.0, 5.0],
    })
    # row 1: ages 14, 7, 0 days with half-life 7 → raw 1/4, 1/2, 1 (sum 7/4)
    #   → shares 1/7, 2/7, 4/7 of (1, 70) = search (1/7, 10), social (2/7, 20),
    #   email (4/7, 40); row 2: a single touch takes (1, 5) → email 4/7 + 1, 45.
    want = {"search": (1 / 7, 10), "social": (2 / 7, 20), "email": (4 / 7 + 1, 45)}
    assert_credit(credit(timed, "time_decay"), want)
    seconds = timed.with_columns(
        pl.Series("touch_times", [[0.0, 7 * day, 14 * day], [3.0]]),
        pl.Series("conversion_time", [14 * day, None], dtype=pl.Float64))
    assert_credit(credit(seconds, "time_decay"), want)
    # half-life 14 days: raw 1/2, 1/√2, 1 → search = 0.5 / (1.5 + 1/√2)
    share = 0.5 / (1.5 + 2 ** -0.5)
    got = credit(timed, "time_decay", half_life_days=14)
    assert got["search"][0] == pytest.approx(share)
    # No conversion_time column: each path converts at its last touch (same as row 1 here).
    assert_credit(credit(timed.drop("conversion_time"), "time_decay"), want)


MARKOV = pl.DataFrame({
    "path": [["A", "B"], ["A"], ["B"]],
    "conversions": [1, 0, 1], "non_conversions": [0, 1, 1], "value": [100.0, 0.0, 60.0],
})


def test_markov_order_1_worked_example() -> None:
    # (start)→A 2/4, (start)→B 2/4; A→B 1/2, A→null 1/2; B→conv 2/3, B→null 1/3.
    # P(conv) = ½·½·⅔ + ½·⅔ = 1/6 + 1/3 = 1/2
    # without A: ½·⅔ = 1/3 → removal effect 1/6; without B: 0 → 1/2
    # shares: (1/6)/(2/3) = 1/4 and 3/4 of 2 conversions → A 0.5, B 1.5
    # value: all conversions leave from B, so the value (160) splits the same: 40 / 120
    assert_credit(credit(MARKOV, "markov"), {"A": (0.5, 40), "B": (1.5, 120)})


def test_markov_loop() -> None:
    loop = pl.DataFrame({"path": [["A", "B", "A"], ["B"]], "conversions": [1, 0],
                         "non_conversions": [0, 1]})
    # (start)→A ½, →B ½; A→B ½, A→conv ½; B→A ½, B→null ½
    # x_A = ½ + ½·x_B, x_B = ½·x_A → x_A = 2/3, x_B = 1/3; P = ½(2/3 + 1/3) = 1/2
    # without A: B→A is null, so P = 0 → effect 1/2
    # without B: x_A = ½, P = ½·½ = 1/4 → effect 1/4; shares 2/3 and 1/3
    assert_credit(credit(loop, "markov"), {"A": (2 / 3, 0), "B": (1 / 3, 0)})


ORDER2 = pl.DataFrame({"path": [["A", "B", "C"], ["A", "C"], ["C"]],
                       "conversions": [1, 0, 1], "non_conversions": [0, 1, 1]})


def test_markov_order_2_uses_pairs_of_channels() -> None:
    # states AB, BC, AC and (short path) C: (start)→AB ¼, →AC ¼, →C ½;
    # AB→BC 1, BC→conv 1, AC→null 1, C→conv ½, C→null ½
    # P = ¼·1 + ¼·0 + ½·½ = 1/2
    # without A (drops AB, AC): ½·½ = 1/4 → 1/4; without B (AB, BC): 1/4 → 1/4;
    # without C (BC, AC, C): 0 → 1/2. Shares ¼, ¼, ½ of 2 → 0.5, 0.5, 1
    assert_credit(credit(ORDER2, "markov", order=2), {"A": (0.5, 0), "B": (0.5, 0),
                                                       "C": (1, 0)})
    # Order 1 on the same data differs: A→B ½, A→C ½, B→C 1, C→conv 2/4
    # x_C = ½ = x_B = x_A, P = ½; without A: ½·½ = 1/4 → 1/4;
    # without B: x_A = ½·½ = 1/4, P = ½·¼ + ½·½ = 3/8 → 1/8; without C: 0 → ½
    # shares 2:1:4 of 2 → 4/7, 2/7, 8/7
    assert_credit(credit(ORDER2, "markov", order=1), {"A": (4 / 7, 0), "B": (2 / 7, 0),
                                                       "C": (8 / 7, 0)})


def test_shapley_worked_example() -> None:
    frame = pl.DataFrame({"path": [["A"], ["B"], ["A", "B", "A"]],
                          "conversions": [3, 1, 2], "value": [30.0, 10.0, 20.0]})
    # v({A}) = 3, v({B}) = 1, v({A,B}) = 3 + 1 + 2 = 6
    # φ_A = ½·(v(A) − v(∅)) + ½·(v(AB) − v(B)) = ½·3 + ½·5 = 4
    # φ_B = ½·(v(B) − v(∅)) + ½·(v(AB) − v(A)) = ½·1 + ½·3 = 2; value: 40 and 20
    assert_credit(credit(frame, "shapley"), {"A": (4, 40), "B": (2, 20)})


def brute_force_shapley(frame: pl.DataFrame) -> dict[str, float]:
    rows = [(set(p), c) for p, c in zip(frame["path"], frame["conversions"], strict=True)]
    players = sorted(set().union(*(s for s, _ in rows)))

    def v(coalition: set[str]) -> float:
        return float(sum(c for s, c in rows if s <= coalition))

    phi = dict.fromkeys(players, 0.0)
    for order in itertools.permutations(players):
        seen: set[str] = set()
        for p in order:
            phi[p] += v(seen | {p}) - v(seen)
            seen.add(p)
    return {p: x / math.factorial(len(players)) for p, x in phi.items()}


def random_paths(rng: np.random.Generator, n_rows: int, n_channels: int,
                 max_len: int = 5) -> pl.DataFrame:
    names = [f"c{i}" for i in range(n_channels)]
    conv = rng.integers(0, 4, n_rows)
    return pl.DataFrame({
        "path": [[names[i] for i in rng.integers(0, n_channels, rng.integers(1, max_len + 1))]
                 for _ in range(n_rows)],
        "conversions": conv,
        "non_conversions": rng.integers(0, 4, n_rows),
        "value": np.round(conv * rng.uniform(1, 50, n_rows), 2),
    })


@pytest.mark.parametrize("seed", range(6))
def test_shapley_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = random_paths(rng, 25, int(rng.integers(2, 7)))
    brute = brute_force_shapley(frame)
    got = credit(frame, "shapley")
    # For this v(S) Shapley has a closed form (Zhao et al. 2018): each path's conversions
    # split equally over its distinct channels.
    closed: dict[str, float] = dict.fromkeys(brute, 0.0)
    for path, conv in zip(frame["path"], frame["conversions"], strict=True):
        for ch in set(path):
            closed[ch] += conv / len(set(path))
    for ch, phi in brute.items():
        assert got[ch][0] == pytest.approx(phi, abs=1e-9)
        assert closed[ch] == pytest.approx(phi, abs=1e-9)


def test_shapley_sampling_above_the_exact_limit() -> None:
    rng = np.random.default_rng(11)
    frame = random_paths(rng, 200, 18, max_len=6)
    got = attribute(frame, "shapley", n_permutations=3000, seed=5)
    assert got["conversions"].sum() == pytest.approx(frame["conversions"].sum())
    assert got.equals(attribute(frame, "shapley", n_permutations=3000, seed=5))
    # Forcing the exact path (18 channels) gives the reference for the estimate.
    exact = attribute(frame, "shapley", max_exact_channels=18)
    total = float(frame["conversions"].sum())
    diff = float((got["conversions"] - exact["conversions"]).abs().max())  # type: ignore[arg-type]
    assert diff / total < 0.01  # within 1 % of all conversions


def hypothesis_frames() -> st.SearchStrategy[pl.DataFrame]:
    channel = st.sampled_from(["a", "b", "c", "direct", "e"])
    row = st.tuples(st.lists(channel, min_size=1, max_size=6), st.integers(0, 5),
                    st.integers(0, 5), st.floats(0, 1000, allow_nan=False))

    def frame(rows: list[tuple[list[str], int, int, float]]) -> pl.DataFrame:
        t0 = 1_700_000_000.0
        return pl.DataFrame({
            "path": [r[0] for r in rows],
            "conversions": [r[1] for r in rows],
            "non_conversions": [r[2] for r in rows],
            "value": [r[3] if r[1] else 0.0 for r in rows],
            "touch_times": [[t0 + 3600.0 * 30 * i for i in range(len(r[0]))] for r in rows],
        })

    return st.lists(row, min_size=1, max_size=12).map(frame)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=hypothesis_frames(), order=st.integers(1, 3))
def test_every_model_conserves_conversions_and_value(frame: pl.DataFrame, order: int) -> None:
    total_conv = frame["conversions"].sum()
    total_value = frame["value"].sum()
    for model in MODELS:
        out = attribute(frame, model, order)  # type: ignore[arg-type]
        assert not out["conversions"].is_nan().any() and not out["value"].is_nan().any()
        assert (out["conversions"] >= -1e-9).all() and (out["value"] >= -1e-9).all()
        assert out["conversions"].sum() == pytest.approx(total_conv, abs=1e-9), model
        assert out["value"].sum() == pytest.approx(total_value, rel=1e-9, abs=1e-9), model


@pytest.mark.parametrize("model", [m for m in MODELS if m != "time_decay"])
def test_identical_paths_are_aggregated(model: str) -> None:
    rng = np.random.default_rng(3)
    frame = random_paths(rng, 40, 4)
    split = pl.concat([frame, frame.with_columns(pl.col("conversions", "non_conversions",
                                                        "value") * 0)])
    assert_credit(credit(split, model), credit(frame, model))
