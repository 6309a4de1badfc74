"""Roll back after promotion: the holdout's guardrail watch, by seeded simulation.

    .venv/bin/python benchmarks/holdout_validation.py [--experiments 2000] [--seed N]

After a promotion the winner (leads +30 %) is served to everyone except a holdout share
that keeps the control; ~1,400 visitors a day as in benchmarks/harm_validation.py, split
``[share, 1 - share]`` (``promotion_validation.simulate``). Revenue per visitor (10 %
buyers at $10/$20/$50) is the guardrail, margin 15 %. ``experiments.holdout.watch`` is
called at every daily look until it rolls back or the holdout ends. Anchors from the same
runs: alpha for a harmless winner, and a one-sided fixed-horizon z-test at alpha read once
at the holdout's end (which could not roll back early) for a harmful one; also that
fixed test peeked at daily, to show what peeking would cost.

``holdout_design`` and ``run_watch`` are reused by tests/experiments/test_holdout.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harm_validation import MARGIN, NEW_POLICY
from benchmarks.promotion_validation import START, Design, Paths, mc_se, row, simulate
from experiments.holdout import watch
from experiments.promotion import MetricData
from experiments.stats import VariantData, mixture

IntArray = NDArray[np.int64]


def holdout_design(revenue_lift: float, share: float = 0.05, days: int = 30) -> Design:
    """The promoted winner (leads +30 % at 8 %) against the holdout's control; revenue per
    visitor changed by ``revenue_lift``; ~1,400 visitors a day split ``[share, 1-share]``."""
    return Design(lifts=(0.0, 0.30), baseline=(0.08, 0.08), users_per_arm_day=(700.0, 700.0),
                  days=days, split=(share, 1 - share), purchase_rate=0.10,
                  revenue_lifts=(0.0, revenue_lift))


def _revenue(paths: Paths, e: int, d: int) -> MetricData:
    assert paths.revenue_sum is not None and paths.revenue_sum_squares is not None
    users, s, ss = paths.users[e, d], paths.revenue_sum[e, d], paths.revenue_sum_squares[e, d]
    return MetricData("revenue_per_visitor", [
        VariantData(name, int(users[k]), sum=float(s[k]), sum_squares=float(ss[k]))
        for k, name in enumerate("AB")])


def run_watch(paths: Paths) -> IntArray:
    """Per experiment: the day (1-based) ``watch`` rolled back, 0 if the holdout ended."""
    experiments, days, _ = paths.users.shape
    out = np.zeros(experiments, dtype=np.int64)
    end = START + timedelta(days=days)
    for e in range(experiments):
        for d in range(days):
            now = START + timedelta(days=d + 1)
            look = watch(NEW_POLICY, end, now, "A", "B", [_revenue(paths, e, d)])
            if look.rollback:
                out[e] = d + 1
                break
            if look.final:
                break
    return out


def fixed_harm(paths: Paths, alpha: float) -> NDArray[np.bool_]:
    """One-sided z-test of harm on revenue per visitor at each daily look (difference in
    means, unpooled), shape (experiments, days): True where harm is significant."""
    assert paths.revenue_sum is not None and paths.revenue_sum_squares is not None
    n = np.maximum(paths.users.astype(float), 1.0)
    mean = paths.revenue_sum / n
    var = np.maximum(paths.revenue_sum_squares / n - mean**2, 0.0) * n / np.maximum(n - 1, 1)
    se = np.sqrt(var[..., 0] / n[..., 0] + var[..., 1] / n[..., 1])
    z = np.where(se > 0, (mean[..., 1] - mean[..., 0]) / np.where(se > 0, se, 1), 0.0)
    return z < stats.norm.ppf(alpha)


def delta_harm(paths: Paths, alpha: float) -> NDArray[np.bool_]:
    """The rejected alternative: the same mixture test on the delta method's relative lift
    and variance (``lift_estimate``'s formula), at each daily look."""
    assert paths.revenue_sum is not None and paths.revenue_sum_squares is not None
    n = np.maximum(paths.users.astype(float), 2.0)
    mean = paths.revenue_sum / n
    var = np.maximum(paths.revenue_sum_squares / n - mean**2, 0.0) * n / (n - 1)
    with np.errstate(all="ignore"):
        m_a, m_b = mean[..., 0], mean[..., 1]
        lift = m_b / m_a - 1
        v = var[..., 1] / (m_a**2 * n[..., 1]) + var[..., 0] * m_b**2 / (m_a**4 * n[..., 0])
        ok = (m_a > 0) & (v > 0) & np.isfinite(v)
        p = mixture.p_value(np.where(ok, -lift, 0.0), np.where(ok, v, 1.0), MARGIN)
    return ok & (p < alpha)


def study(rng: np.random.Generator, experiments: int, share: float, days: int) -> None:
    """Harmless, harm at the margin, harm at twice the margin: rolled back, and anchors."""
    alpha = NEW_POLICY.guardrail_alpha
    print(f"\nHoldout {share:.0%} for {days} days after promotion (~{1400 * share:.0f} "
          f"holdout visitors a day), revenue margin {MARGIN:.0%}, guardrail_alpha {alpha:g}; "
          f"{experiments:,} experiments per row (Monte Carlo s.e. at 0.05 "
          f"~{mc_se(0.05, experiments):.4f})")
    for label, lift in [("harmless (revenue unchanged)", 0.0),
                        ("revenue -15 % (= margin)", -MARGIN),
                        ("revenue -30 % (2 x margin)", -2 * MARGIN)]:
        paths = simulate(rng, holdout_design(lift, share, days), experiments)
        day = run_watch(paths)
        fixed = fixed_harm(paths, alpha)
        rolled = float((day > 0).mean())
        if lift == 0:
            row(f"{label}: rolled back (goal <= {alpha:g})", rolled, alpha, "alpha")
            row("  fixed z-test peeked daily (invalid)", float(fixed.any(axis=1).mean()), alpha,
                "alpha")
            row("  same mixture on the delta method's variance", float(
                delta_harm(paths, alpha).any(axis=1).mean()), alpha, "alpha")
        else:
            row(f"{label}: rolled back", rolled, float(fixed[:, -1].mean()),
                "fixed test at the end")
            if rolled:
                row("  median / 90th pct day of roll back", float(np.median(day[day > 0])),
                    float(days), "holdout days", "{:.1f}")
                print(f"    90th percentile day {np.percentile(day[day > 0], 90):.0f}")


def main() -> None:
    """Run every study and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    study(rng, args.experiments, 0.05, 30)  # the defaults
    study(rng, args.experiments // 2, 0.10, 30)
    study(rng, args.experiments // 2, 0.05, 14)
    print(f"\nelapsed {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
