"""Vectorised simulation of monitored experiments (used by tests and benchmarks).

Each experiment is a path of cumulative counts observed at a schedule of looks; the
statistics at every look are computed with the same core functions ``analyze`` uses,
on whole numpy arrays at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from experiments.stats import frequentist, sequential

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class BinomialPaths:
    """Cumulative users and conversions at each look: arrays of shape (experiments, looks)."""

    users_a: FloatArray
    conversions_a: FloatArray
    users_b: FloatArray
    conversions_b: FloatArray


def simulate_binomial_paths(
    rng: np.random.Generator,
    experiments: int,
    looks: int,
    users_per_look: int,
    rate_a: float,
    rate_b: float,
) -> BinomialPaths:
    """Conversions accumulated over ``looks`` batches of ``users_per_look`` users per arm."""
    shape = (experiments, looks)
    users = np.broadcast_to(users_per_look * np.arange(1, looks + 1, dtype=float), shape)
    conv_a = np.cumsum(rng.binomial(users_per_look, rate_a, size=shape), axis=1)
    conv_b = np.cumsum(rng.binomial(users_per_look, rate_b, size=shape), axis=1)
    return BinomialPaths(users.copy(), conv_a.astype(float), users.copy(), conv_b.astype(float))


@dataclass(frozen=True)
class LiftPaths:
    """Relative lift, its delta-method variance, total users and a validity mask."""

    lift: FloatArray
    variance: FloatArray
    n_total: FloatArray
    valid: NDArray[np.bool_]


def binomial_lift(paths: BinomialPaths) -> LiftPaths:
    """Relative lift and variance at every look (invalid where a rate is 0 or 1)."""
    p_a = paths.conversions_a / paths.users_a
    p_b = paths.conversions_b / paths.users_b
    var_a, var_b = p_a * (1 - p_a), p_b * (1 - p_b)
    valid = (var_a > 0) & (var_b > 0)
    safe_p_a = np.where(valid, p_a, 1.0)
    lift = np.where(valid, frequentist.relative_lift(safe_p_a, p_b), 0.0)
    variance = np.where(
        valid,
        frequentist.relative_variance(var_a, safe_p_a, paths.users_a, var_b, p_b,
                                      paths.users_b),
        1.0,
    )
    return LiftPaths(lift, variance, paths.users_a + paths.users_b, valid)


def fixed_p_values(lp: LiftPaths) -> FloatArray:
    """Fixed-horizon (z-test) p-values at every look; 1 where invalid."""
    return np.where(lp.valid, frequentist.p_value(lp.lift, lp.variance), 1.0)


def sequential_p_values(lp: LiftPaths, alpha: float, tuning: float) -> FloatArray:
    """Always-valid p-values at every look; 1 where invalid."""
    rho = sequential.rho(alpha, tuning)
    return np.where(lp.valid, sequential.p_value(lp.lift, lp.variance, lp.n_total, rho), 1.0)


def fixed_half_widths(lp: LiftPaths, alpha: float) -> FloatArray:
    """Half-widths of fixed-horizon intervals at every look."""
    return np.asarray(frequentist.half_width(lp.variance, alpha), dtype=float)


def sequential_half_widths(lp: LiftPaths, alpha: float, tuning: float) -> FloatArray:
    """Half-widths of the confidence sequence at every look."""
    rho = sequential.rho(alpha, tuning)
    return np.asarray(sequential.half_width(lp.variance, lp.n_total, alpha, rho), dtype=float)


def first_rejection(p_values: FloatArray, alpha: float) -> NDArray[np.int64]:
    """Index of the first look with ``p < alpha`` per experiment, -1 if there is none."""
    rejected = p_values < alpha
    first = np.argmax(rejected, axis=1)
    return np.where(rejected.any(axis=1), first, -1).astype(np.int64)
