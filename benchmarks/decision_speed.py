"""Deciding sooner at the same error rate: users per arm to a correct decision, by simulation.

    .venv/bin/python benchmarks/decision_speed.py [--experiments 5000] [--gbstats-python PY]

The issue's scenario: a +10 % relative lift on a 5 % base rate, a look after every 500
users per arm, stopped at 60,000 users per arm; and the A/A twin under the same
continuous peeking. An experiment stops at its first decision; one that never decides
counts as 60,000 users (so "mean users per arm" never flatters a test that gives up).
The anchor is the fixed-horizon test planned for 80 % power (31,231 users per arm),
which may not be peeked at. gbstats 0.8.0 (its own venv, benchmarks/__main__.py) runs
its SequentialTwoSidedTTest on the same simulated experiments.

``simulate_scenario`` and ``decisions`` are reused by tests/experiments/test_mixture.py
with fewer experiments.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stats_validation import run_gbstats, subset
from experiments.planner import plan
from experiments.stats import frequentist, mixture
from experiments.stats.simulation import (
    BinomialPaths,
    LiftPaths,
    binomial_lift,
    first_rejection,
    sequential_p_values,
    simulate_binomial_paths,
)

ALPHA, RATE, LIFT, LOOK, CAP = 0.05, 0.05, 0.10, 500, 60_000
LOOKS = CAP // LOOK


@dataclass(frozen=True)
class Figures:
    """One method on one set of simulated experiments."""

    decided: float  # share with a decision by the cap
    correct: float  # share with a decision for the variant (lift > 0)
    mean_users: float  # per arm at the decision; 60,000 when undecided
    mean_users_correct: float  # per arm, among correct decisions


def simulate_scenario(rng: np.random.Generator, experiments: int, lift: float = LIFT,
                      looks: int = LOOKS) -> tuple[BinomialPaths, LiftPaths]:
    """Cumulative counts, and the lift and its variance, at every look."""
    paths = simulate_binomial_paths(rng, experiments, looks, LOOK, RATE, RATE * (1 + lift))
    return paths, binomial_lift(paths)


def decisions(rejected: NDArray[np.bool_], lp: LiftPaths) -> Figures:
    """Stop at the first rejection; a decision is correct when the lift is positive."""
    first = first_rejection(np.where(rejected, 0.0, 1.0), 0.5)
    return figures(first, lp)


def figures(first: NDArray[np.int64], lp: LiftPaths) -> Figures:
    """Figures from the index of each experiment's first decision (-1: none)."""
    decided = first >= 0
    rows = np.arange(len(first))
    right = decided & (lp.lift[rows, np.maximum(first, 0)] > 0)
    users = np.where(decided, (first + 1) * LOOK, lp.lift.shape[1] * LOOK)
    return Figures(float(decided.mean()), float(right.mean()), float(users.mean()),
                   float(users[right].mean()) if right.any() else float("nan"))


def mixture_rejections(lp: LiftPaths, mde: float = LIFT,
                       spread: float = mixture.DEFAULT_SPREAD) -> NDArray[np.bool_]:
    """Looks at which the one-sided mixture test promotes the variant."""
    p = mixture.p_value(lp.lift, lp.variance, mde, spread)
    return lp.valid & (p < ALPHA)


def gbstats_rejections(lp: LiftPaths, tuning: float = 5_000) -> NDArray[np.bool_]:
    """Looks at which gbstats' two-sided confidence sequence decides (either way)."""
    return sequential_p_values(lp, ALPHA, tuning) < ALPHA


def pocock_boundary(looks: int, alpha: float, rng: np.random.Generator,
                    paths: int = 200_000, power: float = 0.0) -> float:
    """Constant ``c`` of the one-sided boundary ``z_k >= c (k / K)^-power`` at ``looks``
    equally spaced looks, calibrated to ``alpha`` on simulated Brownian motion (power 0:
    Pocock; 0.5: O'Brien-Fleming)."""
    t = np.arange(1, looks + 1) / looks
    maxima = np.empty(paths)
    for lo in range(0, paths, 20_000):
        steps = rng.standard_normal((min(20_000, paths - lo), looks))
        z = np.cumsum(steps, axis=1) / np.sqrt(np.arange(1, looks + 1))
        maxima[lo:lo + len(z)] = np.max(z * t**power, axis=1)
    return float(np.quantile(maxima, 1 - alpha))


def wilson(p: float, n: int) -> tuple[float, float]:
    """95 % Wilson interval of a proportion."""
    z = 1.959964
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def show(label: str, f: Figures, aa: float | None, n: int, anchor: float) -> None:
    """One line: decisions, mean users per arm (and its ratio to the fixed horizon), A/A."""
    ci = "" if aa is None else "  A/A {:.4f} [{:.4f}, {:.4f}]".format(aa, *wilson(aa, n))
    print(f"  {label:<46} decided {f.decided:.3f}  correct {f.correct:.3f}  "
          f"mean users/arm {f.mean_users:>7,.0f} (x{f.mean_users / anchor:.2f} of fixed)  "
          f"among correct {f.mean_users_correct:>7,.0f}{ci}")


def main() -> None:
    """Simulate the scenario once and run every method on the same experiments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--gbstats-python", default=None)
    parser.add_argument("--gbstats-experiments", type=int, default=500,
                        help="first N experiments replayed through gbstats (its per-call "
                             "Python is slow)")
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    n = args.experiments
    planned = frequentist.required_sample_size(RATE, LIFT, ALPHA, 0.8)
    (raw_ab, ab), (raw_aa, aa) = simulate_scenario(rng, n), simulate_scenario(rng, n, 0.0)
    final_fixed = float((frequentist.p_value(ab.lift[:, planned // LOOK], ab.variance[
        :, planned // LOOK]) < ALPHA).mean())
    print(f"+{LIFT:.0%} relative lift at {RATE:.0%}, a look every {LOOK} users/arm up to "
          f"{CAP:,} ({LOOKS} looks); {n:,} A/B and {n:,} A/A experiments, alpha {ALPHA}, "
          f"seed {args.seed}")
    print(f"anchor: fixed horizon for 80 % power = {planned:,} users/arm (power measured at "
          f"{planned // LOOK * LOOK + LOOK:,}: {final_fixed:.3f}); no peeking allowed")

    def either(rej: NDArray[np.bool_], rej_aa: NDArray[np.bool_], label: str) -> None:
        show(label, decisions(rej, ab), float(rej_aa.any(axis=1).mean()), n, planned)

    print("\ndefault: one-sided mixture SPRT, centre = planned MDE 10 %, spread 0.25 x MDE")
    either(mixture_rejections(ab), mixture_rejections(aa), "mixture, MDE 10 %, spread 0.25")
    print("\nalternatives measured on the same experiments")
    for spread in (0.0, 0.5, 1.0):
        either(mixture_rejections(ab, spread=spread), mixture_rejections(aa, spread=spread),
               f"mixture, MDE 10 %, spread {spread:g}")
    for mde in (0.05, 0.20):
        either(mixture_rejections(ab, mde), mixture_rejections(aa, mde),
               f"mixture, MDE {mde:.0%} (misplanned), spread 0.25")
    for power, name in ((0.0, "Pocock"), (0.5, "O'Brien-Fleming")):
        c = pocock_boundary(LOOKS, ALPHA, np.random.default_rng(args.seed + 1), power=power)
        t = np.arange(1, LOOKS + 1) / LOOKS
        z_ab = np.where(ab.valid, ab.lift / np.sqrt(ab.variance), 0.0)
        z_aa = np.where(aa.valid, aa.lift / np.sqrt(aa.variance), 0.0)
        bound = c * t ** -power
        either(z_ab >= bound, z_aa >= bound, f"group-sequential one-sided, {name}")
    gb_ab, gb_aa = gbstats_rejections(ab), gbstats_rejections(aa)
    either(gb_ab, gb_aa, "gbstats' test (ours), N* 5,000, two-sided")
    tuned = 2 * planned
    either(gbstats_rejections(ab, tuned), gbstats_rejections(aa, tuned),
           f"gbstats' test (ours), N* {tuned:,}, two-sided")
    fixed_peek = frequentist.p_value(ab.lift, ab.variance) < ALPHA
    either(fixed_peek & ab.valid, (frequentist.p_value(aa.lift, aa.variance) < ALPHA)
           & aa.valid, "fixed z-test peeked at every look (invalid)")

    default = decisions(mixture_rejections(ab), ab)
    expected = plan(LIFT, RATE, 2 * LOOK, looks_per_day=1, max_days=LOOKS, min_runtime_days=0,
                    min_users_per_arm=0, min_conversions_per_arm=0).sequential
    assert expected is not None
    print("\nplanner (experiments/planner.py, normal approximation) against this simulation")
    print(f"  mean users/arm to a decision: planner {expected.users_per_arm:,.0f}, simulated "
          f"{default.mean_users:,.0f} (ratio {expected.users_per_arm / default.mean_users:.3f})")
    print(f"  chance to decide by the cap:  planner {expected.chance_to_decide:.3f}, simulated "
          f"{default.correct:.3f} (ratio {expected.chance_to_decide / default.correct:.3f})")

    if args.gbstats_python:
        rows = min(args.gbstats_experiments, n)
        print(f"\ngbstats 0.8.0 itself on the first {rows:,} A/B and A/A experiments")
        sub_ab, sub_aa = _rows(ab, rows), _rows(aa, rows)
        for label, raw, lp, ours in (("A/B", raw_ab, sub_ab, gb_ab[:rows]),
                                     ("A/A", raw_aa, sub_aa, gb_aa[:rows])):
            out = run_gbstats(args.gbstats_python, subset(raw, rows), 5_000, 0)
            assert out is not None
            f = figures(out["first"], lp)
            differ = int(np.sum(out["first"] != first_rejection(np.where(ours, 0.0, 1.0), 0.5)))
            show(f"gbstats, N* 5,000, {label}", f, None, rows, planned)
            print(f"    decisions that differ from ours: {differ}")
        mine = decisions(mixture_rejections(sub_ab), sub_ab)
        show("mixture (default) on the same rows, A/B", mine,
             float(mixture_rejections(sub_aa).any(axis=1).mean()), rows, planned)
    print(f"\nA/A intervals: 95 % Wilson; elapsed {time.perf_counter() - start:.0f} s")


def _rows(lp: LiftPaths, rows: int) -> LiftPaths:
    return LiftPaths(lp.lift[:rows], lp.variance[:rows], lp.n_total[:rows], lp.valid[:rows])


if __name__ == "__main__":
    main()
