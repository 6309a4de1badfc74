"""CUPED in the sequential path: users per arm to a decision with a pre-period covariate.

    .venv/bin/python benchmarks/cuped_speed.py [--experiments 5000] [--seed N]

The decision_speed scenario (+10 % at 5 %, a look every 500 users/arm, cap 60,000,
the one-sided mixture test planned for 10 %), now with a binary pre-exposure covariate
per visitor (20 % of visitors were engaged before the experiment; they convert at 15 %,
the others at 2.5 %: overall 5 %, correlation ~0.23). The same experiments are decided
with and without CUPED (theta pooled over both arms at each look, as ``analyze`` does;
the first experiments are re-checked against ``analyze`` itself). Anchor: the same test
without the covariate, and the fixed horizon for 80 % power.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.decision_speed import ALPHA, CAP, LIFT, LOOK, LOOKS, RATE, decisions, wilson
from experiments.stats import VariantData, analyze, frequentist, mixture
from experiments.stats.simulation import LiftPaths

ENGAGED, P_ENGAGED, P_OTHER = 0.2, 0.15, 0.025
Arr = NDArray[np.float64]


def arm_cells(rng: np.random.Generator, experiments: int, lift: float) -> Arr:
    """Cumulative (xy, x only, y only) counts per look: shape (experiments, looks, 3)."""
    p1, p0 = P_ENGAGED * (1 + lift), P_OTHER * (1 + lift)
    probs = [ENGAGED * p1, ENGAGED * (1 - p1), (1 - ENGAGED) * p0, (1 - ENGAGED) * (1 - p0)]
    cells = rng.multinomial(LOOK, probs, size=(experiments, LOOKS))[..., :3]
    return np.cumsum(cells, axis=1).astype(float)


def lift_paths(a: Arr, b: Arr, cuped: bool) -> LiftPaths:
    """Lift and variance at every look, with or without the CUPED adjustment."""
    n = LOOK * np.arange(1, LOOKS + 1, dtype=float)[None, :]

    def sums(c: Arr) -> tuple[Arr, Arr, Arr]:  # sum y, sum x, sum xy (binary: squares too)
        return c[..., 0] + c[..., 2], c[..., 0] + c[..., 1], c[..., 0]

    (ya, xa, xya), (yb, xb, xyb) = sums(a), sums(b)
    pa, pb = ya / n, yb / n
    var_a, var_b = pa * (1 - pa), pb * (1 - pb)
    valid = (var_a > 0) & (var_b > 0)
    mean_a, mean_b = pa, pb
    if cuped:
        N = 2 * n
        y, x, xy = ya + yb, xa + xb, xya + xyb
        pooled_var_x = (x - x * x / N) / (N - 1)
        pooled_cov = (xy - x * y / N) / (N - 1)
        p_all = y / N
        theta = np.where((pooled_var_x > 0) & (p_all * (1 - p_all) > 0),
                         pooled_cov / np.where(pooled_var_x > 0, pooled_var_x, 1.0), 0.0)

        def adjust(yy: Arr, xx: Arr, xyxy: Arr, var: Arr) -> tuple[Arr, Arr]:
            vx = (xx - xx * xx / n) / (n - 1)
            cov = (xyxy - xx * yy / n) / (n - 1)
            return yy / n - theta * xx / n, var + theta**2 * vx - 2 * theta * cov

        mean_a, var_a = adjust(ya, xa, xya, var_a)
        mean_b, var_b = adjust(yb, xb, xyb, var_b)
    safe = np.where(valid, pa, 1.0)
    lift = np.where(valid, frequentist.relative_lift(mean_a, mean_b, safe), 0.0)
    variance = np.where(valid, frequentist.relative_variance(var_a, safe, n, var_b,
                                                             np.where(valid, pb, 1.0), n), 1.0)
    return LiftPaths(lift, variance, 2 * n + 0 * lift, valid)


def _arm(name: str, cells: Arr, users: int) -> VariantData:
    """One arm's aggregates at one look from its (xy, x only, y only) counts."""
    y, x, xy = cells[0] + cells[2], cells[0] + cells[1], cells[0]
    return VariantData(name, users, conversions=y, pre_sum=x, pre_sum_squares=x,
                       sum_product=xy)


def check_against_analyze(a: Arr, b: Arr, lp: LiftPaths, rows: int = 20) -> float:
    """Largest |difference| of the lift between this vectorised CUPED and ``analyze``."""
    worst = 0.0
    for e in range(rows):
        for k in (9, 59, LOOKS - 1):
            n = LOOK * (k + 1)
            got = analyze([_arm("A", a[e, k], n), _arm("B", b[e, k], n)], method="mixture",
                          mde=LIFT)
            lift = got.comparisons[0].lift
            assert lift is not None
            worst = max(worst, abs(lift - lp.lift[e, k]))
    return worst


def main() -> None:
    """Decide the same simulated experiments with and without CUPED."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    n = args.experiments
    planned = frequentist.required_sample_size(RATE, LIFT, ALPHA, 0.8)
    ab = arm_cells(rng, n, 0.0), arm_cells(rng, n, LIFT)
    aa = arm_cells(rng, n, 0.0), arm_cells(rng, n, 0.0)
    print(f"+{LIFT:.0%} at {RATE:.0%}, a look every {LOOK} users/arm up to {CAP:,}; "
          f"{n:,} A/B and A/A experiments; covariate: {ENGAGED:.0%} engaged before "
          f"(converting at {P_ENGAGED:.1%} vs {P_OTHER:.1%}); seed {args.seed}")
    for cuped in (False, True):
        lp, la = lift_paths(*ab, cuped), lift_paths(*aa, cuped)
        rej = lp.valid & (mixture.p_value(lp.lift, lp.variance, LIFT) < ALPHA)
        rej_aa = la.valid & (mixture.p_value(la.lift, la.variance, LIFT) < ALPHA)
        f = decisions(rej, lp)
        false = float(rej_aa.any(axis=1).mean())
        low, high = wilson(false, n)
        print(f"  mixture, {'with CUPED   ' if cuped else 'without CUPED'}: decided "
              f"{f.correct:.3f}, mean users/arm {f.mean_users:,.0f} (x{f.mean_users / planned:.2f}"
              f" of the fixed {planned:,}), A/A {false:.4f} [{low:.4f}, {high:.4f}]")
        if cuped:
            final = 1 - lp.variance[:, -1] / lift_paths(*ab, False).variance[:, -1]
            print(f"  variance reduction of the lift at the cap: {np.median(final):.3f} (median);"
                  f" vectorised CUPED vs analyze(): max |d lift| "
                  f"{check_against_analyze(*ab, lp):.1e}")
    print(f"\nelapsed {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
