"""Plan an experiment: users and days to a decision, fixed and sequential, before it starts.

Given the minimum detectable relative effect (MDE) the analyst cares about, the base
conversion rate and the traffic (``experiments/traffic.py`` reads both from the
warehouse), ``plan`` answers: how many users per arm and days until a decision, for a
fixed-horizon test planned for ``power`` and for the sequential test the promotion
sensor uses (the one-sided mixture SPRT tuned to that MDE, checked ``looks_per_day``
times a day, after the sensor's minimum runtime and sample gates), and the chance of a
decision by a given day.

The fixed design is the textbook sample size. The sequential figures come from the
normal approximation of the lift's path: with per-user variance factor ``v`` of the
relative lift (delta method at the planned rates), ``n`` users per arm carry the
information ``I = n / v``, and the score ``S = I * lift`` is a Brownian motion with drift
``MDE`` in ``I``. ``simulations`` paths of it (fixed seed, a fraction of a second) are
run through the very test the sensor applies (``stats/mixture.py``). tests/experiments/
test_planner.py checks the figures against the binomial simulation of
benchmarks/decision_speed.py (within 10 %).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from experiments.stats import frequentist, mixture


@dataclass(frozen=True)
class DesignFigures:
    """What one design promises at the planned effect.

    Attributes:
        users_per_arm: mean users per arm at the decision (sequential: capped at
            ``max_days``, an undecided experiment counting as the cap).
        days: mean days to the decision.
        median_days: median days to a decision among experiments that decide.
        chance_to_decide: chance of a decision in favour of the variant (power).
        chance_by_date: chance of that decision within ``by_days`` (None if not asked).
    """

    users_per_arm: float
    days: float
    median_days: float | None
    chance_to_decide: float
    chance_by_date: float | None


@dataclass(frozen=True)
class Plan:
    """``fixed`` and ``sequential`` figures, the inputs, and a sentence; ``error`` set
    (and the figures None) when the inputs cannot be planned for."""

    mde: float
    base_rate: float
    users_per_day: float
    arms: int
    alpha: float
    power: float
    max_days: float
    by_days: float | None
    fixed: DesignFigures | None
    sequential: DesignFigures | None
    summary: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (no NaN)."""
        return asdict(self)


def _problem(mde: float, base_rate: float, users_per_day: float, arms: int, alpha: float,
             power: float, max_days: float, by_days: float | None) -> str | None:
    def bad(x: float) -> bool:
        return not isinstance(x, int | float) or not math.isfinite(x)
    if bad(mde) or mde <= 0:
        return f"the minimum detectable effect must be a relative lift above 0, got {mde!r}"
    if bad(base_rate) or not 0 < base_rate < 1:
        return f"the base conversion rate must be between 0 and 1, got {base_rate!r}"
    if base_rate * (1 + mde) >= 1:
        return (f"a {mde:.0%} lift on a {base_rate:.1%} base rate exceeds 100 %; choose a "
                "smaller effect")
    if bad(users_per_day) or users_per_day <= 0:
        return "there is no traffic to run an experiment on (0 visitors per day)"
    if not isinstance(arms, int) or not 2 <= arms <= 20:
        return f"arms must be between 2 and 20, got {arms!r}"
    if bad(alpha) or not 0 < alpha < 1 or bad(power) or not 0 < power < 1:
        return f"alpha and power must be in (0, 1), got {alpha!r} and {power!r}"
    if bad(max_days) or max_days <= 0 or (by_days is not None and (bad(by_days) or by_days < 0)):
        return "max_days must be above 0 and by_days at least 0"
    return None


def relative_lift_variance_factor(base_rate: float, mde: float) -> float:
    """``v`` with ``Var(lift) = v / n`` for ``n`` users per arm at the planned rates."""
    p_a, p_b = base_rate, base_rate * (1 + mde)
    return float(frequentist.relative_variance(p_a * (1 - p_a), p_a, 1.0, p_b * (1 - p_b),
                                               p_b, 1.0))


def plan(mde: float, base_rate: float, users_per_day: float, arms: int = 2,
         alpha: float = 0.05, power: float = 0.8, by_days: float | None = None,
         max_days: float = 60, looks_per_day: int = 4, min_runtime_days: float = 3.0,
         min_users_per_arm: float = 1000, min_conversions_per_arm: float = 30,
         simulations: int = 2000, seed: int = 20261204) -> Plan:
    """Expected users and days to a decision for both designs at the planned effect.

    Args:
        mde: minimum detectable relative effect (0.1 = +10 %), also the mixture's centre.
        base_rate: control's conversion rate.
        users_per_day: new visitors per day entering the experiment, all arms together.
        arms: arms including control; the comparisons share ``alpha`` (Bonferroni, the
            conservative side of the sensor's Holm).
        by_days: also give the chance of a decision within this many days.
        max_days: the sequential test stops undecided after this many days.
        looks_per_day: how often the sensor looks (it looks every few minutes; more
            looks decide slightly sooner).
        min_runtime_days, min_users_per_arm, min_conversions_per_arm: the sensor's gates.
        simulations, seed: size and seed of the path simulation.
    """
    problem = _problem(mde, base_rate, users_per_day, arms, alpha, power, max_days, by_days)
    if problem:
        return Plan(mde, base_rate, users_per_day, arms, alpha, power, max_days, by_days,
                    None, None, f"Cannot plan: {problem}.", problem)
    level = alpha / (arms - 1)
    per_arm_day = users_per_day / arms
    n_fixed = float(frequentist.required_sample_size(base_rate, mde, level, power))
    fixed_days = n_fixed / per_arm_day
    fixed = DesignFigures(n_fixed, fixed_days, fixed_days, power,
                          None if by_days is None else (power if by_days >= fixed_days else 0.0))

    looks = max(1, int(math.ceil(max_days * looks_per_day)))
    t = np.arange(1, looks + 1) / looks_per_day  # days at each look
    n = per_arm_day * t
    info = n / relative_lift_variance_factor(base_rate, mde)
    rng = np.random.default_rng(seed)
    steps = rng.standard_normal((simulations, looks)) * np.sqrt(np.diff(info, prepend=0.0))
    lift = (mde * info + np.cumsum(steps, axis=1)) / info
    open_ = (t >= min_runtime_days) & (n >= min_users_per_arm) & (
        n * base_rate >= min_conversions_per_arm)
    decide = (mixture.p_value(lift, 1.0 / info, mde) < level) & open_
    hit = decide.any(axis=1)
    first = np.where(hit, decide.argmax(axis=1), looks - 1)
    days = t[first]
    sequential = DesignFigures(
        users_per_arm=float(np.mean(n[first])), days=float(np.mean(days)),
        median_days=float(np.median(days[hit])) if hit.any() else None,
        chance_to_decide=float(hit.mean()),
        chance_by_date=None if by_days is None else float(np.mean(hit & (days <= by_days))),
    )
    return Plan(mde, base_rate, users_per_day, arms, alpha, power, max_days, by_days, fixed,
                sequential, _summary(mde, base_rate, users_per_day, fixed, sequential,
                                     by_days, max_days))


def _summary(mde: float, base_rate: float, users_per_day: float, fixed: DesignFigures,
             seq: DesignFigures, by_days: float | None, max_days: float) -> str:
    by = ("" if by_days is None or seq.chance_by_date is None
          else f"; the chance it decides within {by_days:g} days is {seq.chance_by_date:.0%}")
    return (f"At {users_per_day:,.0f} visitors a day converting at {base_rate:.1%}, a +{mde:.0%}"
            f" lift needs {fixed.users_per_arm:,.0f} visitors per arm ({fixed.days:.0f} days) "
            f"with a fixed test; the sequential test decides after {seq.users_per_arm:,.0f} "
            f"per arm ({seq.days:.0f} days) on average, and within {max_days:g} days in "
            f"{seq.chance_to_decide:.0%} of experiments{by}.")
