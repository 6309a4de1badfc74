"""Several treatments: the best arm is promoted only when it beats every other arm.

    .venv/bin/python benchmarks/multiarm_validation.py [--experiments 500] [--seed N]

Replays the sensor (``evaluate`` at every daily look for 30 days) on experiments with
3 to 5 arms at 8 %, ~700 users/arm/day, under the rule for several treatments
(``experiments/multiarm.py``: one-sided mixture tests planned for a 10 % MDE, the
candidate against every other arm at alpha / (arms - 1)). The anchor of an error rate
is alpha; of the days to a decision, the same data under today's rule (best arm that
beats control, gbstats' sequence, Holm).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.promotion_validation import Design, mc_se, row, run_sensor, simulate
from experiments.promotion import PromotionPolicy

POLICY = PromotionPolicy(mde=0.10)
TODAY = PromotionPolicy()


def design(lifts: tuple[float, ...]) -> Design:
    """Arms at 8 % times ``1 + lift`` (control first), ~700 users/arm/day, 30 days."""
    return Design(lifts=lifts, baseline=(0.08, 0.08), users_per_arm_day=(700.0, 700.0))


def studies(rng: np.random.Generator, experiments: int) -> None:
    """Family-wise error with no best arm; correct promotions with one."""
    print(f"\n{experiments:,} experiments per study, 8 %, ~700 users/arm/day, a look a day "
          f"for 30 days (Monte Carlo s.e. at 0.05 ~{mc_se(0.05, experiments):.4f})")
    for lifts in ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0, 0.0)):
        out = run_sensor(simulate(rng, design(lifts), experiments), POLICY)
        row(f"{len(lifts)} equal arms: anything promoted (FWER)",
            float(out.promoted.mean()), POLICY.alpha, "alpha")
    for lifts, label in (((0.0, 0.30, 0.15, 0.0), "A/B/C/D: B +30 %, C +15 %"),
                         ((0.0, 0.15, 0.30), "A/B/C: B +15 %, C +30 %"),
                         ((0.0, 0.30, 0.30), "A/B/C: B and C both +30 %")):
        paths = simulate(rng, design(lifts), experiments)
        new, today = run_sensor(paths, POLICY), run_sensor(paths, TODAY)
        best = set(np.flatnonzero(np.asarray(lifts) == max(lifts)).tolist())
        wrong = new.promoted & ~np.isin(new.winner, list(best))
        wrong_today = today.promoted & ~np.isin(today.winner, list(best))
        row(f"{label}: promoted", float(new.promoted.mean()), float(today.promoted.mean()),
            "today's rule")
        row(f"{label}: a worse arm promoted", float(wrong.mean()), POLICY.alpha,
            "alpha")
        print(f"    today's rule promoted a worse arm in {wrong_today.mean():.4f} of runs")
        if new.promoted.any() and today.promoted.any():
            row(f"{label}: median days", float(np.median(new.day[new.promoted])),
                float(np.median(today.day[today.promoted])), "today's median days", "{:.1f}")


def main() -> None:
    """Run the studies and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261205)
    args = parser.parse_args()
    start = time.perf_counter()
    studies(np.random.default_rng(args.seed), args.experiments)
    print(f"\nelapsed {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
