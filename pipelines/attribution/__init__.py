"""Multi-touch attribution: share each path's conversions and value among its channels.

    from pipelines.attribution import attribute
    credit = attribute(paths, model="markov", order=1)

See docs/attribution.md for each model's definition.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import polars as pl

from pipelines.attribution import rules
from pipelines.attribution.markov import markov
from pipelines.attribution.paths import (
    AttributionInputError,
    EncodedPaths,
    empty_result,
    encode,
    result_frame,
)
from pipelines.attribution.shapley import shapley

Model = Literal[
    "first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley"
]
MODELS: tuple[str, ...] = get_args(Model)

__all__ = ["MODELS", "AttributionInputError", "Model", "attribute"]


def _credit(p: EncodedPaths, model: str, order: int, half_life_days: float,
            direct_channel: str, max_exact_channels: int, n_permutations: int,
            seed: int) -> tuple[np.ndarray, np.ndarray]:
    if model == "markov":
        return markov(p, order)
    if model == "shapley":
        return shapley(p, max_exact=max_exact_channels, n_permutations=n_permutations,
                       seed=seed)
    if model == "first_touch":
        weights = rules.first_touch(p)
    elif model == "last_touch":
        weights = rules.last_touch(p, direct_channel)
    elif model == "linear":
        weights = rules.linear(p)
    elif model == "position_based":
        weights = rules.position_based(p)
    else:
        weights = rules.time_decay(p, half_life_days)
    return rules.credit(p, weights)


def attribute(
    paths: pl.DataFrame,
    model: Model = "markov",
    order: int = 1,
    *,
    half_life_days: float = 7.0,
    direct_channel: str = "direct",
    max_exact_channels: int = 15,
    n_permutations: int = 1000,
    seed: int = 0,
) -> pl.DataFrame:
    """Attribute conversions and value to channels.

    Args:
        paths: one row per journey (or per group of identical journeys) with
            ``path`` (list[str], channels in time order), ``conversions`` (>= 0),
            optional ``non_conversions`` (>= 0, default 0) and ``value`` (>= 0, default 0).
            ``time_decay`` also needs ``touch_times`` (list of datetimes or float seconds,
            one per touch) and optionally ``conversion_time`` (defaults to the last touch).
        model: one of :data:`MODELS`.
        order: Markov order (states are runs of ``order`` consecutive channels).
        half_life_days: ``time_decay`` half-life.
        direct_channel: the channel ``last_touch`` skips unless a path is all direct.
        max_exact_channels: ``shapley`` enumerates coalitions exactly up to this many
            converting channels, and samples ``n_permutations`` orderings (``seed``) above.

    Returns:
        ``channel, conversions, value`` sorted by channel, one row per channel seen in
        ``paths``; the columns sum to the input totals. An empty input gives an empty
        frame; input without conversions gives zero credit everywhere.

    Raises:
        AttributionInputError: (a ValueError) malformed input, naming the column.
        ValueError: unknown model or out-of-range parameter.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    if not half_life_days > 0:
        raise ValueError(f"half_life_days must be > 0, got {half_life_days}")
    timed = model == "time_decay"
    p = encode(paths, aggregate=not timed, with_times=timed)
    if not p.channels:
        return empty_result()
    n = len(p.channels)
    if p.n_paths == 0:
        return result_frame(p.channels, np.zeros(n), np.zeros(n))
    conversions, value = _credit(p, model, order, half_life_days, direct_channel,
                                 max_exact_channels, n_permutations, seed)
    return result_frame(p.channels, conversions, value)
