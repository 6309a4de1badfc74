"""Long-run validation of the statistics engine: error rates, coverage and power.

    .venv/bin/python benchmarks/stats_validation.py [--gbstats-python /tmp/gbvenv/bin/python]

Every figure is printed beside its anchor and their ratio: the nominal alpha for false
positives, the nominal level for coverage, and the fixed-horizon sample size for the
sequential tests' sample size to a decision. gbstats' own SequentialTwoSidedTTest runs
on the same simulated data in its separate venv (see benchmarks/gbstats_golden.py for
how to create it); it is skipped, with a note, when that interpreter is missing.
Takes a few minutes on two cores, most of it in gbstats' per-call Python.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from experiments.stats import frequentist
from experiments.stats.bayesian import beta_binomial_posterior
from experiments.stats.simulation import (
    BinomialPaths,
    binomial_lift,
    first_rejection,
    fixed_half_widths,
    fixed_p_values,
    sequential_half_widths,
    sequential_p_values,
    simulate_binomial_paths,
)

ALPHA = 0.05
RATE = 0.05
RUNNER = Path(__file__).with_name("gbstats_sequential_runner.py")


def row(label: str, value: float, anchor: float, fmt: str = "{:.4f}") -> None:
    """Print one figure, its anchor, and value / anchor."""
    ratio = value / anchor if anchor else float("nan")
    print(f"  {label:<48} {fmt.format(value):>10}   anchor {fmt.format(anchor):>10}"
          f"   ratio {ratio:5.2f}x")


def mc_se(p: float, n: int) -> float:
    """Monte Carlo standard error of a proportion."""
    return float(np.sqrt(p * (1 - p) / n))


def run_gbstats(python: str | None, paths: BinomialPaths, tuning: float,
                full_rows: int) -> dict[str, np.ndarray] | None:
    """gbstats' first rejections (and full paths for ``full_rows``) on the same data."""
    if python is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path_in, path_out = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(path_in, users_a=paths.users_a, conv_a=paths.conversions_a,
                 users_b=paths.users_b, conv_b=paths.conversions_b, alpha=ALPHA,
                 tuning=tuning, full_rows=full_rows)
        subprocess.run([python, str(RUNNER), str(path_in), str(path_out)], check=True)
        with np.load(path_out) as out:
            return {k: out[k] for k in out.files}


def subset(paths: BinomialPaths, rows: int) -> BinomialPaths:
    """The first ``rows`` experiments."""
    return BinomialPaths(paths.users_a[:rows], paths.conversions_a[:rows],
                         paths.users_b[:rows], paths.conversions_b[:rows])


def a_a(rng: np.random.Generator, experiments: int, gb_python: str | None) -> None:
    """False positives under continuous monitoring."""
    looks, per_look = 100, 200
    print(f"\nA/A: {experiments:,} experiments, {RATE:.0%} conversion, a look after every "
          f"{per_look} users/arm up to {looks * per_look:,} ({looks} looks), alpha {ALPHA}")
    print(f"  (Monte Carlo s.e. at alpha: {mc_se(ALPHA, experiments):.4f})")
    paths = simulate_binomial_paths(rng, experiments, looks, per_look, RATE, RATE)
    lp = binomial_lift(paths)
    seq_p = sequential_p_values(lp, ALPHA, 5_000)
    seq_first = first_rejection(seq_p, ALPHA)
    fixed_p = fixed_p_values(lp)
    row("sequential (N*=5,000), any look", float(np.mean(seq_first >= 0)), ALPHA)
    row("sequential (N*=40,000), any look",
        float(np.mean(first_rejection(sequential_p_values(lp, ALPHA, 40_000), ALPHA) >= 0)),
        ALPHA)
    row("fixed-horizon z-test, any look (peeking)",
        float(np.mean(first_rejection(fixed_p, ALPHA) >= 0)), ALPHA)
    row("fixed-horizon z-test, final look only", float(np.mean(fixed_p[:, -1] < ALPHA)), ALPHA)
    later = first_rejection(seq_p[:, 4:], ALPHA)
    row("sequential (N*=5,000), looks from 1,000 users/arm", float(np.mean(later >= 0)), ALPHA)
    hit = seq_first >= 0
    negative = lp.lift[np.flatnonzero(hit), seq_first[hit]] < 0
    print(f"  sequential false positives with a negative lift: {negative.sum()} of {hit.sum()};"
          f" {np.mean(seq_first[hit] < 10):.0%} of them in the first 10 looks")
    rows = min(experiments, 500)
    gb = run_gbstats(gb_python, subset(paths, rows), 5_000, full_rows=50)
    if gb is None:
        print("  gbstats: skipped (no --gbstats-python)")
        return
    ours_sub = seq_first[:rows]
    row(f"gbstats sequential (N*=5,000), first {rows}", float(np.mean(gb["first"] >= 0)),
        float(np.mean(ours_sub >= 0)))
    print(f"  decisions differing from ours: {int(np.sum(gb['first'] != ours_sub))} of {rows};"
          f" max |p - p_gbstats| over 50x{looks} looks: "
          f"{np.max(np.abs(gb['p'] - seq_p[:50])):.1e}")


def coverage(rng: np.random.Generator, experiments: int, bayes_experiments: int) -> None:
    """Coverage of intervals (at the horizon) and of the sequence (at every look)."""
    looks, per_look, rate_b = 100, 200, RATE * 1.10
    true_lift = rate_b / RATE - 1
    print(f"\nCoverage of the true lift (+10 %), {experiments:,} experiments, same looks")
    paths = simulate_binomial_paths(rng, experiments, looks, per_look, RATE, rate_b)
    lp = binomial_lift(paths)
    err = np.abs(lp.lift - true_lift)
    seq_miss = ((err > sequential_half_widths(lp, ALPHA, 5_000)) & lp.valid).any(axis=1)
    fixed_miss = (err > fixed_half_widths(lp, ALPHA)) & lp.valid
    row("fixed interval at 20,000 users/arm", 1 - float(np.mean(fixed_miss[:, -1])), 1 - ALPHA)
    row("confidence sequence, all 100 looks at once", 1 - float(np.mean(seq_miss)), 1 - ALPHA)
    row("fixed interval, all 100 looks at once", 1 - float(np.mean(fixed_miss.any(axis=1))),
        1 - ALPHA)
    covered = 0
    for e in range(bayes_experiments):
        post = beta_binomial_posterior(paths.conversions_a[e, -1], paths.users_a[e, -1],
                                       paths.conversions_b[e, -1], paths.users_b[e, -1], ALPHA)
        covered += post.ci_low <= true_lift <= post.ci_high
    row(f"Beta-binomial credible interval ({bayes_experiments} exp.)",
        covered / bayes_experiments, 1 - ALPHA)


def power(rng: np.random.Generator, experiments: int, gb_python: str | None) -> None:
    """Sample size to a decision for a real +10 % lift."""
    looks, per_look, rate_b = 100, 1_000, RATE * 1.10
    planned = frequentist.required_sample_size(RATE, 0.10, ALPHA, 0.8)
    horizon_look = int(np.ceil(planned / per_look)) - 1
    horizon = (horizon_look + 1) * per_look
    print(f"\nPower: true +10 % relative lift at {RATE:.0%}, {experiments:,} experiments, a look "
          f"every {per_look:,} users/arm up to {looks * per_look:,}")
    print(f"  fixed horizon planned for 80 % power: {planned:,} users/arm, on the look grid "
          f"{horizon:,}; sample sizes are users/arm, stopping at the first p < {ALPHA} "
          f"(or at {looks * per_look:,} without a decision)")
    paths = simulate_binomial_paths(rng, experiments, looks, per_look, RATE, rate_b)
    lp = binomial_lift(paths)
    fixed_power = float(np.mean(fixed_p_values(lp)[:, horizon_look] < ALPHA))
    print(f"  {'method':<40} {'power':>6} {'mean n to stop':>15} {'median n | win':>15}"
          "   ratio (mean n / fixed horizon)")

    def report(label: str, first: np.ndarray) -> None:
        won = first >= 0
        stop = np.where(won, first + 1, looks) * per_look
        median = float(np.median(stop[won])) if won.any() else float("nan")
        print(f"  {label:<40} {np.mean(won):6.3f} {np.mean(stop):15,.0f} {median:15,.0f}"
              f"   {np.mean(stop) / horizon:5.2f}x")

    print(f"  {'fixed horizon z-test':<40} {fixed_power:6.3f} {horizon:15,.0f} {horizon:15,.0f}"
          "    1.00x")
    tuned = float(2 * horizon)
    for tuning in (5_000.0, tuned):
        first = first_rejection(sequential_p_values(lp, ALPHA, tuning), ALPHA)
        report(f"sequential, ours (N*={tuning:,.0f})", first)
        gb = run_gbstats(gb_python, paths, tuning, full_rows=0)
        if gb is not None:
            report(f"sequential, gbstats (N*={tuning:,.0f})", gb["first"])
            print(f"    decisions differing from ours: {int(np.sum(gb['first'] != first))}")


def main() -> None:
    """Run all three studies and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_gb = os.environ.get("GBSTATS_PYTHON", "/tmp/gbvenv/bin/python")
    parser.add_argument("--gbstats-python", default=default_gb)
    parser.add_argument("--experiments", type=int, default=5_000, help="A/A and coverage runs")
    parser.add_argument("--power-experiments", type=int, default=2_000)
    parser.add_argument("--bayes-experiments", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args()
    gb_python = args.gbstats_python if Path(args.gbstats_python).exists() else None
    if gb_python is None:
        print(f"note: {args.gbstats_python} not found, gbstats comparisons skipped",
              file=sys.stderr)
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    a_a(rng, args.experiments, gb_python)
    coverage(rng, args.experiments, args.bayes_experiments)
    power(rng, args.power_experiments, gb_python)
    print(f"\nelapsed {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
