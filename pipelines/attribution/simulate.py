"""Seeded synthetic customer journeys for benchmarks, reference checks and demos.

Only numpy is imported, so scripts running outside the project's environment (the
channelattribution golden script) can load this file on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHANNEL_NAMES = (
    "paid_search", "organic_search", "social", "email", "display",
    "direct", "referral", "affiliate", "video", "push",
)


@dataclass(frozen=True)
class SimulatedPaths:
    """One journey per row: path ``i`` is ``channels[codes[offsets[i]:offsets[i + 1]]]``."""

    channels: tuple[str, ...]
    codes: np.ndarray
    offsets: np.ndarray
    conversions: np.ndarray  # 0/1 per journey
    value: np.ndarray  # revenue per journey (0 when not converted)

    def path_strings(self, sep: str = " > ") -> list[str]:
        """Paths as ``"a > b"`` strings, the format channelattribution reads."""
        names = np.asarray(self.channels, dtype=object)[self.codes]
        return [sep.join(names[a:b]) for a, b in zip(self.offsets[:-1], self.offsets[1:],
                                                     strict=True)]


def simulate_paths(n_paths: int, n_channels: int = 8, *, seed: int = 0,
                   conversion_rate: float = 0.03, mean_length: float = 2.5,
                   max_length: int = 30) -> SimulatedPaths:
    """Journeys from a random first-order chain with channel-dependent conversion.

    First touches and channel-to-channel moves come from Dirichlet draws (channels differ
    in reach and stickiness), path lengths are geometric with mean ``mean_length`` (capped
    at ``max_length``), and a journey converts with probability
    sigmoid(b0 + sum of its distinct channels' effects), b0 set so the average rate is
    ``conversion_rate``. Converting journeys get log-normal revenue.
    """
    if not 1 <= n_channels <= len(CHANNEL_NAMES):
        raise ValueError(f"n_channels must be in 1..{len(CHANNEL_NAMES)}")
    rng = np.random.default_rng(seed)
    first = rng.dirichlet(np.full(n_channels, 1.5))
    moves = rng.dirichlet(np.full(n_channels, 0.6), size=n_channels)
    moves += np.eye(n_channels) * 0.3  # some stickiness: repeat visits are common
    moves /= moves.sum(axis=1, keepdims=True)
    cum_first, cum_moves = np.cumsum(first), np.cumsum(moves, axis=1)
    lengths = np.minimum(rng.geometric(1.0 / mean_length, n_paths), max_length)

    steps = np.zeros((n_paths, int(lengths.max())), dtype=np.int64)
    steps[:, 0] = np.minimum(np.searchsorted(cum_first, rng.random(n_paths)), n_channels - 1)
    for t in range(1, steps.shape[1]):
        rows = np.nonzero(lengths > t)[0]  # only journeys still going
        u = rng.random(len(rows))
        nxt = (u[:, None] > cum_moves[steps[rows, t - 1]]).sum(axis=1)
        steps[rows, t] = np.minimum(nxt, n_channels - 1)
    alive = np.arange(steps.shape[1])[None, :] < lengths[:, None]
    codes = steps[alive]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    seen = np.zeros((n_paths, n_channels), dtype=bool)
    seen[np.repeat(np.arange(n_paths), lengths), codes] = True
    effect = rng.normal(0.0, 0.7, n_channels)
    score = seen.astype(np.float64) @ effect
    lo, hi = -20.0, 20.0
    for _ in range(50):  # bisection on the intercept for the target conversion rate
        b0 = (lo + hi) / 2
        rate = (1.0 / (1.0 + np.exp(-(b0 + score)))).mean()
        lo, hi = (b0, hi) if rate < conversion_rate else (lo, b0)
    p_conv = 1.0 / (1.0 + np.exp(-(b0 + score)))
    conversions = (rng.random(n_paths) < p_conv).astype(np.int64)
    value = np.round(conversions * rng.lognormal(4.0, 0.8, n_paths), 2)
    return SimulatedPaths(CHANNEL_NAMES[:n_channels], codes, offsets, conversions, value)
