"""Shapley-value attribution over channel coalitions.

Characteristic function (Zhao et al. 2018, "Shapley Value Methods for Attribution
Modeling in Online Advertising", the common simplified form): v(S) is the conversions
(or value) of paths whose set of distinct channels is a subset of S. Order and repeats
within a path are ignored, and non-converting paths add nothing to v.

Up to ``max_exact`` distinct channels the Shapley sum is evaluated exactly over all 2^n
coalitions (bitmask arrays, vectorised); above that it is estimated from seeded random
permutations. Both distribute exactly the total, so conversions are conserved.
"""

from __future__ import annotations

from math import factorial

import numpy as np

from pipelines.attribution.paths import EncodedPaths

MAX_EXACT_LIMIT = 24  # 2^24 coalitions x 2 float64 columns = 256 MiB


def channel_sets(p: EncodedPaths) -> tuple[np.ndarray, np.ndarray]:
    """Distinct channel sets and what converts on them.

    Returns (members, worth): ``members`` is (n_sets, max_size) of channel codes padded
    with -1, ``worth`` is (n_sets, 2) of [conversions, value] summed over paths whose
    channel set is exactly that set.
    """
    n_ch = max(len(p.channels), 1)
    converting = (p.conversions > 0) | (p.value > 0)
    path_of = p.path_of_touch
    touch_keys = path_of[converting[path_of]] * n_ch + p.codes[converting[path_of]]
    uniq = np.unique(touch_keys)
    path, code = uniq // n_ch, uniq % n_ch
    if len(uniq) == 0:
        return np.zeros((0, 1), dtype=np.int64), np.zeros((0, 2))
    new = np.ones(len(uniq), dtype=bool)
    new[1:] = path[1:] != path[:-1]
    starts = np.nonzero(new)[0]
    sizes = np.diff(np.append(starts, len(uniq)))
    rank = np.arange(len(uniq)) - np.repeat(starts, sizes)
    padded = np.full((len(starts), int(sizes.max())), -1, dtype=np.int64)
    padded[np.repeat(np.arange(len(starts)), sizes), rank] = code
    members, inverse = np.unique(padded, axis=0, return_inverse=True)
    paths = path[starts]
    inverse = inverse.reshape(-1)
    worth = np.column_stack([
        np.bincount(inverse, weights=p.conversions[paths], minlength=len(members)),
        np.bincount(inverse, weights=p.value[paths], minlength=len(members)),
    ])
    return members, worth


def _popcount(x: np.ndarray) -> np.ndarray:
    counts = np.zeros(x.shape, dtype=np.int64)
    x = x.copy()
    while x.any():
        counts += x & 1
        x >>= 1
    return counts


def exact(members: np.ndarray, worth: np.ndarray, n_ch: int) -> np.ndarray:
    """Exact Shapley values by subset enumeration; returns (n_ch, 2)."""
    size = 1 << n_ch
    masks = np.where(members >= 0, np.left_shift(1, np.maximum(members, 0)), 0).sum(axis=1)
    v = np.zeros((size, 2))
    np.add.at(v, masks, worth)
    # Zeta transform: v[S] = sum of worth over subsets of S.
    for i in range(n_ch):
        view = v.reshape(-1, 2, 1 << i, 2)
        view[:, 1] += view[:, 0]
    popcount = _popcount(np.arange(size, dtype=np.int64))
    # weight[k] = k! (n-k-1)! / n!  for a coalition of k players not containing i
    weight = np.array([factorial(k) * factorial(n_ch - k - 1) / factorial(n_ch)
                       for k in range(n_ch)])
    phi = np.zeros((n_ch, 2))
    for i in range(n_ch):
        view = v.reshape(-1, 2, 1 << i, 2)
        k = popcount.reshape(-1, 2, 1 << i)[:, 0]
        phi[i] = (weight[k][..., None] * (view[:, 1] - view[:, 0])).sum(axis=(0, 1))
    return phi


def sampled(members: np.ndarray, worth: np.ndarray, n_ch: int, n_permutations: int,
            seed: int) -> np.ndarray:
    """Monte-Carlo Shapley over random channel orderings; returns (n_ch, 2).

    With v(S) = worth of sets inside S, the marginal contribution of channel i in an
    ordering is the worth of every set whose last member (in that ordering) is i.
    """
    rng = np.random.default_rng(seed)
    phi = np.zeros((n_ch, 2))
    valid = members >= 0
    safe = np.where(valid, members, 0)
    batch = max(1, 4_000_000 // max(members.size, 1))  # ~100 MB of temporaries
    done = 0
    while done < n_permutations:
        b = min(batch, n_permutations - done)
        rank = rng.permuted(np.tile(np.arange(n_ch), (b, 1)), axis=1)  # rank[perm, channel]
        member_rank = np.where(valid[None], rank[:, safe], -1)  # (b, n_sets, max_size)
        closer = np.take_along_axis(safe[None], member_rank.argmax(axis=2)[..., None],
                                    axis=2)[..., 0]  # (b, n_sets)
        for col in range(2):
            phi[:, col] += np.bincount(closer.ravel(), minlength=n_ch,
                                       weights=np.broadcast_to(worth[:, col], closer.shape)
                                       .ravel())
        done += b
    return phi / n_permutations


def shapley(p: EncodedPaths, *, max_exact: int = 15, n_permutations: int = 1000,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (conversions, value) Shapley credit.

    Args:
        max_exact: enumerate all coalitions when at most this many channels convert
            (at most 24), else sample.
        n_permutations: orderings sampled above ``max_exact`` channels.
        seed: random seed for the sampled estimate.
    """
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}")
    if not 0 <= max_exact <= MAX_EXACT_LIMIT:
        raise ValueError(f"max_exact must be in 0..{MAX_EXACT_LIMIT}, got {max_exact}")
    n_ch = len(p.channels)
    members, worth = channel_sets(p)
    out = np.zeros((n_ch, 2))
    if len(members) == 0:
        return out[:, 0], out[:, 1]
    # Channels on no converting path are null players (Shapley value 0); leaving them
    # out keeps the exact enumeration small.
    active = np.unique(members[members >= 0])
    local = np.searchsorted(active, members).astype(np.int64)
    local = np.where(members >= 0, local, -1)
    if len(active) <= max_exact:
        phi = exact(local, worth, len(active))
    else:
        phi = sampled(local, worth, len(active), n_permutations, seed)
    out[active] = phi
    return out[:, 0], out[:, 1]
