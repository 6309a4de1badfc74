"""Markov-chain attribution by removal effect, solved exactly with sparse linear algebra.

The chain runs (start) → states → (conversion) | (null). A state is one channel for
order 1, or ``order`` consecutive channels for higher orders (a path shorter than
``order`` is one state holding the whole path), as channelattribution's
``markov_model(order=k)`` builds it. Consecutive repeats of a state are collapsed, which
leaves absorption probabilities unchanged (a self-loop only rescales the other exits).

Removing a channel deletes every state that contains it; transitions into those states
then end in (null). The removal effect is the drop in P(conversion), and channels are
credited in proportion to their removal effects. Value uses the same chain with each
state's exit to (conversion) weighted by the value of the conversions that ended there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from pipelines.attribution.paths import EncodedPaths


@dataclass(frozen=True)
class Chain:
    """Transient part of the absorbing chain.

    ``a`` is I − Q (CSC), ``rhs[:, 0]`` the one-step conversion probability of each
    state and ``rhs[:, 1]`` the one-step expected conversion value; ``start`` is the
    initial distribution and ``members[s, c]`` says whether state ``s`` holds channel ``c``.
    """

    a: sp.csc_matrix
    rhs: np.ndarray
    start: np.ndarray
    members: np.ndarray


def _dense_ids(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ids 0..m-1 for ``keys``, index of each id's first occurrence)."""
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return inverse.reshape(-1), first


def _states(p: EncodedPaths, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode each path as a sequence of k-tuple states.

    Returns (state id per step, path index per step, members matrix [state, channel]).
    Steps of one path are contiguous and in time order.
    """
    n_ch = len(p.channels)
    lengths = p.lengths
    per_path = np.maximum(lengths - order + 1, 1)
    path_of = np.repeat(np.arange(p.n_paths), per_path)
    first_step = np.cumsum(per_path) - per_path
    begin = p.offsets[path_of] + (np.arange(len(path_of)) - first_step[path_of])
    end = p.offsets[path_of + 1]
    # window[j] = (channel code + 1) at offset j, 0 past the end of a short path.
    windows = []
    for j in range(order):
        idx = begin + j
        inside = idx < end
        windows.append(np.where(inside, p.codes[np.minimum(idx, len(p.codes) - 1)] + 1, 0))
    key = windows[0]
    for w in windows[1:]:
        if (int(key.max()) + 1) * (n_ch + 1) >= 2**62:
            key, _ = _dense_ids(key)  # re-number before the mixed-radix key overflows
        key = key * (n_ch + 1) + w
    state, first = _dense_ids(key)
    members = np.zeros((len(first), n_ch), dtype=bool)
    for w in windows:
        code = w[first]
        has = code > 0
        members[np.nonzero(has)[0], code[has] - 1] = True
    # Collapse consecutive repeats of the same state within a path.
    keep = np.ones(len(state), dtype=bool)
    keep[1:] = (state[1:] != state[:-1]) | (path_of[1:] != path_of[:-1])
    return state[keep], path_of[keep], members


def build_chain(p: EncodedPaths, order: int = 1) -> Chain:
    """Count transitions over all paths (converting or not) and normalise them."""
    journeys = p.conversions + p.non_conversions
    state, path_of, members = _states(p, order)
    m = members.shape[0]
    weight = journeys[path_of]
    new_path = np.ones(len(state), dtype=bool)
    new_path[1:] = path_of[1:] != path_of[:-1]
    last = np.ones(len(state), dtype=bool)
    last[:-1] = new_path[1:]
    start = np.bincount(state[new_path], weights=weight[new_path], minlength=m)
    inner = ~last
    moves = sp.coo_matrix(
        (weight[inner], (state[inner], state[np.nonzero(inner)[0] + 1])), shape=(m, m)
    ).tocsr()
    ends = state[last]
    to_conv = np.bincount(ends, weights=p.conversions[path_of[last]], minlength=m)
    to_value = np.bincount(ends, weights=p.value[path_of[last]], minlength=m)
    to_null = np.bincount(ends, weights=p.non_conversions[path_of[last]], minlength=m)
    out = np.asarray(moves.sum(axis=1)).ravel() + to_conv + to_null
    inv_out = np.divide(1.0, out, out=np.zeros(m), where=out > 0)
    q = sp.diags(inv_out) @ moves
    a = (sp.identity(m, format="csr") - q).tocsc()
    rhs = np.column_stack([to_conv * inv_out, to_value * inv_out])
    total = start.sum()
    start = start / total if total > 0 else start
    return Chain(a=sp.csc_matrix(a), rhs=rhs, start=start, members=members)


def absorption(chain: Chain, keep: np.ndarray | None = None) -> np.ndarray:
    """[P(conversion), E(value)] from (start), optionally with only ``keep`` states."""
    a, rhs, start = chain.a, chain.rhs, chain.start
    if keep is not None:
        a = sp.csc_matrix(a[keep][:, keep])
        rhs, start = rhs[keep], start[keep]
    if a.shape[0] == 0:
        return np.zeros(2)
    x = splu(a).solve(rhs)
    return np.asarray(start @ x, dtype=np.float64)


def removal_effects(chain: Chain) -> np.ndarray:
    """Drop in [P(conversion), E(value)] when each channel is removed; shape (n_ch, 2)."""
    base = absorption(chain)
    n_ch = chain.members.shape[1]
    effects = np.zeros((n_ch, 2))
    for c in range(n_ch):
        contains = chain.members[:, c]
        if contains.any():
            effects[c] = base - absorption(chain, ~contains)
    return np.clip(effects, 0.0, None)  # removal can only lower them; clip rounding noise


def markov(p: EncodedPaths, order: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (conversions, value): removal effects normalised to the totals."""
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    effects = removal_effects(build_chain(p, order))
    totals = np.array([p.conversions.sum(), p.value.sum()])
    sums = effects.sum(axis=0)
    share = np.divide(effects, sums, out=np.zeros_like(effects), where=sums > 0)
    credit = share * totals
    return credit[:, 0], credit[:, 1]
