"""Harm is never promoted: guardrails with a margin (non-inferiority), by simulation.

    .venv/bin/python benchmarks/harm_validation.py [--experiments 2000] [--seed N]

Replays the promotion sensor (``experiments.promotion.evaluate`` at every daily look for
30 days, as benchmarks/promotion_validation.py does) on experiments whose variant lifts
leads by 30 % (8 % base, ~700 users/arm/day) while it changes revenue per visitor (10 %
of visitors buy at $10/$20/$50). The rule under test is an experiment's default new
policy: the primary metric decided by the one-sided mixture test planned for a 10 %
MDE, and the guardrail "revenue per visitor must not drop by more than 15 %". The
anchor of every figure is today's rule (gbstats' two-sided sequence, guardrail "not
significantly harmed") on the same simulated experiments, or alpha.

``NEW_POLICY``, ``harm_design`` and ``promoted`` are reused by
tests/experiments/test_noninferiority.py with fewer experiments.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.promotion_validation import Design, Outcome, mc_se, row, run_sensor, simulate
from experiments.noninferiority import GuardrailRule
from experiments.promotion import PromotionPolicy

MARGIN = 0.15
NEW_POLICY = PromotionPolicy(mde=0.10,
                             guardrail_rules=(GuardrailRule("revenue_per_visitor", MARGIN),))
TODAY = PromotionPolicy()


def harm_design(revenue_lift: float, lead_lift: float = 0.30) -> Design:
    """Leads +``lead_lift`` at 8 %, ~700 users/arm/day; revenue per visitor changed by
    ``revenue_lift`` through the purchase rate (10 % in control)."""
    return Design(lifts=(0.0, lead_lift), baseline=(0.08, 0.08),
                  users_per_arm_day=(700.0, 700.0), purchase_rate=0.10,
                  revenue_lifts=(0.0, revenue_lift))


def promoted(out: Outcome) -> float:
    """Share of experiments promoted within the horizon."""
    return float(out.promoted.mean())


def median_days(out: Outcome) -> float:
    """Median day of promotion among the promoted (nan if none)."""
    return float(np.median(out.day[out.promoted])) if out.promoted.any() else float("nan")


def harm_studies(rng: np.random.Generator, experiments: int) -> None:
    """Harm at the margin, at twice the margin, and none: promoted, new rule vs today's."""
    print(f"\nLeads +30 % at 8 %, ~700 users/arm/day, a look a day for 30 days; guardrail "
          f"revenue per visitor, margin {MARGIN:.0%} (guardrail_alpha "
          f"{NEW_POLICY.guardrail_alpha:g}, Monte Carlo s.e. at 0.05 "
          f"~{mc_se(0.05, experiments):.4f})")
    for label, revenue, n, bound in [("revenue -15 % (= margin)", -MARGIN, experiments, 0.05),
                                     ("revenue -30 % (2 x margin)", -2 * MARGIN,
                                      experiments // 2, 0.01)]:
        paths = simulate(rng, harm_design(revenue), n)
        new, today = run_sensor(paths, NEW_POLICY), run_sensor(paths, TODAY)
        row(f"{label}: promoted, margin rule (goal <= {bound:g})", promoted(new),
            promoted(today), "today's rule, same runs")
        wrong = int(np.sum(new.promoted & (new.winner != 1)))
        print(f"    {n:,} experiments; {int(new.promoted.sum())} promoted by the margin rule "
              f"({wrong} a wrong arm), {int(today.promoted.sum())} by today's")
    paths = simulate(rng, harm_design(0.0), experiments // 2)
    new, today = run_sensor(paths, NEW_POLICY), run_sensor(paths, TODAY)
    row("revenue unchanged: promoted, margin rule (goal >= 0.95)", promoted(new),
        promoted(today), "today's rule, same runs")
    row("revenue unchanged: median days to promotion", median_days(new), median_days(today),
        "today's median days", "{:.1f}")
    row("revenue unchanged: 90th percentile days", float(np.percentile(new.day[new.promoted],
                                                                       90)),
        float(np.percentile(today.day[today.promoted], 90)), "today's", "{:.1f}")
    bare = run_sensor(paths, NEW_POLICY, guardrail=False)
    row("same, primary (mixture, MDE 10 %) alone: median days", median_days(bare),
        median_days(today), "today's median days", "{:.1f}")


def false_promotions(rng: np.random.Generator, experiments: int) -> None:
    """A/A on the primary metric, revenue unchanged: how often is anything promoted?"""
    print(f"\nA/A (5-8 %, 300-1,000 users/arm/day, revenue unchanged), {experiments:,} "
          f"experiments, a look a day for 30 days")
    design = Design(purchase_rate=0.10, revenue_lifts=(0.0, 0.0))
    paths = simulate(rng, design, experiments)
    row("A/A: promoted, margin rule with the guardrail", promoted(run_sensor(paths, NEW_POLICY)),
        NEW_POLICY.alpha, "alpha")
    row("A/A: promoted, mixture primary alone",
        promoted(run_sensor(paths, NEW_POLICY, guardrail=False)), NEW_POLICY.alpha, "alpha")


def main() -> None:
    """Run every study and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    harm_studies(rng, args.experiments)
    false_promotions(rng, args.experiments // 2)
    print(f"\nelapsed {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
