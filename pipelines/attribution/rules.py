"""Rule-based attribution: each touch gets a fixed share of its path's conversions.

Every function takes :class:`EncodedPaths` and returns one weight per touch; the weights
of each path sum to 1, which is what makes these models conserve conversions and value.
"""

from __future__ import annotations

import numpy as np

from pipelines.attribution.paths import AttributionInputError, EncodedPaths

SECONDS_PER_DAY = 86_400.0


def _position(p: EncodedPaths) -> tuple[np.ndarray, np.ndarray]:
    """(position in path, path length) for every touch."""
    path_of = p.path_of_touch
    pos = np.arange(len(p.codes)) - p.offsets[path_of]
    return pos, p.lengths[path_of]


def first_touch(p: EncodedPaths) -> np.ndarray:
    """All credit to the first touch."""
    pos, _ = _position(p)
    return (pos == 0).astype(np.float64)


def last_touch(p: EncodedPaths, direct_channel: str = "direct") -> np.ndarray:
    """All credit to the last touch that is not ``direct_channel``.

    A path made only of direct touches credits its last (direct) touch.
    """
    idx = np.arange(len(p.codes))
    starts = p.offsets[:-1]
    last = p.offsets[1:] - 1
    if direct_channel in p.channels:
        direct = p.channels.index(direct_channel)
        candidate = np.where(p.codes != direct, idx, -1)
        last_non_direct = np.maximum.reduceat(candidate, starts)
        last = np.where(last_non_direct >= 0, last_non_direct, last)
    w = np.zeros(len(p.codes))
    w[last] = 1.0
    return w


def linear(p: EncodedPaths) -> np.ndarray:
    """Equal credit to every touch (a channel touched twice gets two shares)."""
    _, n = _position(p)
    return 1.0 / n


def position_based(p: EncodedPaths, first: float = 0.4, last: float = 0.4) -> np.ndarray:
    """U-shaped: ``first`` and ``last`` to the ends, the rest split over the middle.

    One touch takes everything; two touches split 50/50 (there is no middle to feed).
    """
    pos, n = _position(p)
    middle = (1.0 - first - last) / np.maximum(n - 2, 1)
    w = np.where(pos == 0, first, np.where(pos == n - 1, last, middle))
    w = np.where(n == 2, 0.5, w)
    return np.where(n == 1, 1.0, w)


def time_decay(p: EncodedPaths, half_life_days: float = 7.0) -> np.ndarray:
    """Credit ∝ 2^(-age / half-life), age = conversion time − touch time.

    The conversion time defaults to the path's last touch when unknown (NaN).
    Raises AttributionInputError if a touch comes after its conversion.
    """
    if not half_life_days > 0:
        raise ValueError(f"half_life_days must be > 0, got {half_life_days}")
    if p.touch_times is None or p.conversion_time is None:
        raise AttributionInputError("time_decay needs touch times", column="touch_times")
    if len(p.codes) == 0:
        return np.zeros(0)
    starts = p.offsets[:-1]
    conv_time = np.where(np.isnan(p.conversion_time),
                         np.maximum.reduceat(p.touch_times, starts), p.conversion_time)
    age = conv_time[p.path_of_touch] - p.touch_times
    if (age < 0).any():
        raise AttributionInputError(
            f"{int((age < 0).sum())} touch(es) come after their conversion_time",
            column="touch_times")
    # Measure age from the path's most recent touch so 2^-x never underflows to 0/0.
    age -= np.minimum.reduceat(age, starts)[p.path_of_touch]
    raw = np.exp2(-age / (half_life_days * SECONDS_PER_DAY))
    return raw / np.add.reduceat(raw, starts)[p.path_of_touch]


def credit(p: EncodedPaths, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (conversions, value) from per-touch weights."""
    path_of = p.path_of_touch
    n = len(p.channels)
    conv = np.bincount(p.codes, weights=weights * p.conversions[path_of], minlength=n)
    value = np.bincount(p.codes, weights=weights * p.value[path_of], minlength=n)
    return conv, value
