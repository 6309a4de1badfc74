"""Long-run validation of automatic promotion: the sensor's decisions on simulated experiments.

    .venv/bin/python benchmarks/promotion_validation.py [--experiments 2000] [--seed N]

Each simulated experiment gets daily traffic for 30 days; the sensor is replayed by
calling ``experiments.promotion.evaluate`` at every daily look, exactly as the Dagster
sensor would (a real sensor looks more often; the sequential test is valid at any
number of looks, so daily looks change nothing but the cost). An experiment stops at
its first promotion. Figures are printed beside an anchor from the same run: alpha for
false promotions, the fixed-horizon sample size for time to a decision, and the same
data without the guardrail for the guardrail's effect.

``simulate`` and ``run_sensor`` are also used, with fewer experiments, by
tests/experiments/test_promotion_simulation.py.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from experiments.promotion import MetricData, PromotionPolicy, evaluate
from experiments.stats import VariantData, frequentist
from experiments.stats.simulation import BinomialPaths, binomial_lift, sequential_p_values

START = datetime(2024, 1, 1)  # naive datetimes are UTC for evaluate
ARMS = "ABCDEFGH"
# Revenue guardrail: a purchaser pays one of these prices (a skewed, realistic spread).
PRICES = np.array([10.0, 20.0, 50.0])
PRICE_SHARES = np.array([0.5, 0.3, 0.2])
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Design:
    """A simulated experiment design; an arm converts at ``baseline * (1 + lift)``.

    Attributes:
        lifts: relative lift of each arm on the primary metric, control (0.0) first.
        baseline: the control rate of each experiment is drawn uniformly from this range.
        users_per_arm_day: each experiment's mean daily users per arm, drawn uniformly;
            the day's total is Poisson and split between arms at random by ``split``.
        days: looks, one a day.
        split: true traffic shares (equal when None); the configured split is always
            equal, so an unequal one is a sample ratio mismatch.
        purchase_rate: control's purchase probability per visitor for a revenue-per-
            visitor guardrail; None for no guardrail.
        revenue_lifts: relative change of each arm's purchase rate (control first).
    """

    lifts: tuple[float, ...] = (0.0, 0.0)
    baseline: tuple[float, float] = (0.05, 0.08)
    users_per_arm_day: tuple[float, float] = (300.0, 1000.0)
    days: int = 30
    split: tuple[float, ...] | None = None
    purchase_rate: float | None = None
    revenue_lifts: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Paths:
    """Cumulative totals at each daily look, arrays of shape (experiments, days, arms)."""

    users: IntArray
    conversions: IntArray
    revenue_sum: NDArray[np.float64] | None = None
    revenue_sum_squares: NDArray[np.float64] | None = None


@dataclass(frozen=True)
class Outcome:
    """Per experiment: the day (1-based) of the first promotion, 0 if none, and the arm."""

    day: IntArray
    winner: IntArray  # arm index, -1 when never promoted

    @property
    def promoted(self) -> NDArray[np.bool_]:
        """Which experiments were promoted within the horizon."""
        return self.day > 0


def simulate(rng: np.random.Generator, design: Design, experiments: int) -> Paths:
    """Daily traffic, conversions and (optionally) revenue, vectorised, then accumulated."""
    arms, days = len(design.lifts), design.days
    base = rng.uniform(*design.baseline, size=experiments)
    per_arm = rng.uniform(*design.users_per_arm_day, size=experiments)
    total = rng.poisson(np.repeat(arms * per_arm[:, None], days, axis=1))
    shares = np.full(arms, 1 / arms) if design.split is None else np.asarray(design.split)
    users = rng.multinomial(total, shares / shares.sum())  # (experiments, days, arms)
    rates = base[:, None, None] * (1 + np.asarray(design.lifts))[None, None, :]
    conversions = rng.binomial(users, rates)
    revenue_sum = revenue_sum_squares = None
    if design.purchase_rate is not None:
        lifts = design.revenue_lifts or (0.0,) * arms
        buy = design.purchase_rate * (1 + np.asarray(lifts))
        buyers = rng.binomial(users, np.broadcast_to(buy, users.shape))
        tiers = rng.multinomial(buyers, PRICE_SHARES)  # (..., prices)
        revenue_sum = np.cumsum(tiers @ PRICES, axis=1)
        revenue_sum_squares = np.cumsum(tiers @ PRICES**2, axis=1)
    return Paths(np.cumsum(users, axis=1), np.cumsum(conversions, axis=1),
                 revenue_sum, revenue_sum_squares)


def run_sensor(paths: Paths, policy: PromotionPolicy, guardrail: bool = True,
               higher_is_better: bool = True) -> Outcome:
    """Call ``evaluate`` at every daily look until it promotes (or the horizon ends).

    Args:
        paths: simulated cumulative totals.
        policy: the promotion policy under test.
        guardrail: pass the revenue-per-visitor guardrail when the paths carry revenue.
        higher_is_better: direction of the primary metric (False: e.g. a bounce rate).
    """
    experiments, days, arms = paths.users.shape
    names = list(ARMS[:arms])
    day = np.zeros(experiments, dtype=np.int64)
    winner = np.full(experiments, -1, dtype=np.int64)
    weights = [1.0] * arms
    with_revenue = guardrail and paths.revenue_sum is not None
    for e in range(experiments):
        for d in range(days):
            users, conv = paths.users[e, d], paths.conversions[e, d]
            primary = MetricData("lead", [VariantData(names[k], int(users[k]),
                                                      conversions=int(conv[k]))
                                          for k in range(arms)], higher_is_better)
            guardrails = []
            if with_revenue:
                assert paths.revenue_sum is not None and paths.revenue_sum_squares is not None
                s, ss = paths.revenue_sum[e, d], paths.revenue_sum_squares[e, d]
                guardrails.append(MetricData("revenue_per_visitor", [
                    VariantData(names[k], int(users[k]), sum=float(s[k]),
                                sum_squares=float(ss[k])) for k in range(arms)]))
            decision = evaluate(policy, START, START + timedelta(days=d + 1), primary,
                                guardrails, expected_weights=weights)
            if decision.promote and decision.winner is not None:
                day[e], winner[e] = d + 1, names.index(decision.winner)
                break
    return Outcome(day, winner)


def mc_se(p: float, n: int) -> float:
    """Monte Carlo standard error of a proportion (at least that of 1/n)."""
    p = min(max(p, 1 / n), 1 - 1 / n)
    return float(np.sqrt(p * (1 - p) / n))


def row(label: str, value: float, anchor: float, anchor_label: str,
        fmt: str = "{:.4f}") -> None:
    """Print one figure, its anchor and value / anchor."""
    ratio = f"{value / anchor:5.2f}x" if anchor else "   n/a"
    print(f"  {label:<52} {fmt.format(value):>8}   {anchor_label:<26} "
          f"{fmt.format(anchor):>8}   ratio {ratio}")


def false_promotions(rng: np.random.Generator, experiments: int) -> None:
    """A/A: how often is anything promoted although no arm is better?"""
    policy = PromotionPolicy()
    ungated = PromotionPolicy(min_runtime_hours=0, min_users_per_arm=0,
                              min_conversions_per_arm=0)
    print(f"\nA/A, {experiments:,} experiments, 300-1,000 users/arm/day, a look a day for 30 "
          f"days; promoted at any look (Monte Carlo s.e. ~{mc_se(0.05, experiments):.4f})")
    paths = simulate(rng, Design(), experiments)
    lp = binomial_lift(BinomialPaths(*(paths.users[:, :, 0].astype(float),
                                       paths.conversions[:, :, 0].astype(float),
                                       paths.users[:, :, 1].astype(float),
                                       paths.conversions[:, :, 1].astype(float))))
    significant = sequential_p_values(lp, policy.alpha, 5_000) < policy.alpha
    row("5-8 %: sequential test alone, either direction",
        float(significant.any(axis=1).mean()), policy.alpha, "alpha")
    row("5-8 %: sequential test alone, lift > 0 only",
        float((significant & (lp.lift > 0)).any(axis=1).mean()), policy.alpha, "alpha")
    for label, pol, higher in [("5-8 %: default policy (72 h, 1,000 users, 30 conv.)", policy,
                                True),
                               ("5-8 %: no runtime/sample gates", ungated, True),
                               ("5-8 %, lower is better: default policy", policy, False),
                               ("5-8 %, lower is better: no gates", ungated, False)]:
        out = run_sensor(paths, pol, higher_is_better=higher)
        row(label, float(out.promoted.mean()), policy.alpha, "alpha")
    paths = simulate(rng, Design(baseline=(0.01, 0.02)), experiments)
    for label, pol in [("1-2 %, lower is better: default policy", policy),
                       ("1-2 %, lower is better: no gates", ungated)]:
        out = run_sensor(paths, pol, higher_is_better=False)
        row(label, float(out.promoted.mean()), policy.alpha, "alpha")
    paths = simulate(rng, Design(lifts=(0.0, 0.0, 0.0)), experiments)
    out = run_sensor(paths, policy)
    row("5-8 %, three arms: default policy (Holm)", float(out.promoted.mean()), policy.alpha,
        "alpha")


def time_to_promotion(rng: np.random.Generator, experiments: int) -> None:
    """A/B: a true +30 % lift at 8 %, ~700 users/arm/day: power and days to promotion."""
    policy = PromotionPolicy()
    planned = frequentist.required_sample_size(0.08, 0.30, policy.alpha, 0.8)
    fixed_days = planned / 700
    print(f"\nA/B, {experiments:,} experiments, +30 % relative lift at 8 %, ~700 users/arm/day "
          f"(fixed horizon for 80 % power: {planned:,} users/arm = {fixed_days:.1f} days)")
    for label, lifts in [("A/B", (0.0, 0.30)), ("A/B/C, C no better than A", (0.0, 0.30, 0.0))]:
        design = Design(lifts=lifts, baseline=(0.08, 0.08), users_per_arm_day=(700.0, 700.0))
        out = run_sensor(simulate(rng, design, experiments), policy)
        promoted = out.promoted
        wrong = int(np.sum(promoted & (out.winner != 1)))
        median = float(np.median(out.day[promoted])) if promoted.any() else float("nan")
        row(f"{label}: promoted within 30 days", float(promoted.mean()), 0.90,
            "required")
        row(f"{label}: median days to promotion", median, fixed_days,
            "fixed-horizon days (80 %)", "{:.1f}")
        print(f"    {label}: a wrong arm promoted in {wrong} of {int(promoted.sum())} promotions")


def guardrail_effect(rng: np.random.Generator, experiments: int) -> None:
    """The revenue guardrail on the same data with and without it: harm blocked, cost."""
    policy = PromotionPolicy()
    print(f"\nRevenue-per-visitor guardrail, {experiments:,} experiments: leads +30 % at 8 %, "
          "~700 users/arm/day, 10 % of visitors buy ($10/$20/$50)")
    loose = PromotionPolicy(guardrail_alpha=0.2)
    for label, revenue in [("revenue -30 %", -0.30), ("revenue -15 %", -0.15),
                           ("revenue unchanged", 0.0)]:
        design = Design(lifts=(0.0, 0.30), baseline=(0.08, 0.08),
                        users_per_arm_day=(700.0, 700.0), purchase_rate=0.10,
                        revenue_lifts=(0.0, revenue))
        paths = simulate(rng, design, experiments)
        bare = float(run_sensor(paths, policy, guardrail=False).promoted.mean())
        for name, pol in [("guardrail_alpha 0.05", policy), ("guardrail_alpha 0.2", loose)]:
            guarded = float(run_sensor(paths, pol).promoted.mean())
            row(f"{label}: promoted, {name}", guarded, bare, "promoted without guardrail")


def sample_ratio_mismatch(rng: np.random.Generator, experiments: int) -> None:
    """A broken 52/48 split (configured 50/50) on an A/B test with a real +30 % lift."""
    policy = PromotionPolicy()
    print(f"\nSample ratio mismatch, {experiments:,} experiments: +30 % at 8 %, ~700 "
          "users/arm/day, traffic split 52/48 though 50/50 is configured")
    base = Design(lifts=(0.0, 0.30), baseline=(0.08, 0.08), users_per_arm_day=(700.0, 700.0))
    broken = replace(base, split=(0.52, 0.48))
    healthy = run_sensor(simulate(rng, base, experiments), policy).promoted.mean()
    srm = run_sensor(simulate(rng, broken, experiments), policy)
    row("52/48 split: promoted within 30 days", float(srm.promoted.mean()), float(healthy),
        "promoted at 50/50")
    if srm.promoted.any():
        days = sorted({int(d) for d in srm.day[srm.promoted]})
        print(f"    promotions under SRM came on days {days}, while the SRM p-value was "
              "still >= 0.001")


def main() -> None:
    """Run every study and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    false_promotions(rng, args.experiments)
    time_to_promotion(rng, args.experiments)
    guardrail_effect(rng, args.experiments // 2)
    sample_ratio_mismatch(rng, args.experiments // 2)
    print(f"\nelapsed {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
