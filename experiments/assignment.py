"""Deterministic variant assignment, bucket-compatible with GrowthBook's SDKs.

A unit (visitor id) is hashed with the experiment seed to a number in [0, 1) using
GrowthBook's "hash version 2"::

    n = fnv1a32(str(fnv1a32(seed + unit_id)))
    bucket = (n % 10000) / 10000

and the bucket is mapped to a variant through GrowthBook's bucket ranges. The same
algorithm lives in ``assignment.js`` (``lsAssign``) for the collector snippet; the tests
run both over the same ids and require identical answers.

Strings are hashed as their UTF-8 bytes (lone surrogates as 3-byte sequences,
Python's ``surrogatepass``). For ASCII ids -- our visitor ids are hex/UUIDs -- this is
byte-for-byte what GrowthBook does; GrowthBook's own SDKs hash UTF-16 code units (JS) or
code points (Python) and so disagree with each other on non-ASCII text, which is why
we pin UTF-8 on both of our sides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

FNV32_OFFSET_BASIS = 0x811C9DC5
FNV32_PRIME = 0x01000193
_UINT32 = 0xFFFFFFFF

JS_SOURCE_PATH = Path(__file__).with_name("assignment.js")


def fnv1a32(text: str) -> int:
    """32-bit FNV-1a hash of the UTF-8 bytes of ``text``."""
    h = FNV32_OFFSET_BASIS
    for byte in text.encode("utf-8", "surrogatepass"):
        h = ((h ^ byte) * FNV32_PRIME) & _UINT32
    return h


def hash_unit(seed: str, unit_id: str) -> float:
    """GrowthBook hash v2 of ``unit_id`` under ``seed``: a bucket in [0, 1), 4 decimals."""
    n = fnv1a32(str(fnv1a32(seed + unit_id)))
    return (n % 10000) / 10000


def _normalised(weights: Sequence[float]) -> list[float]:
    if len(weights) == 0:
        raise ValueError("at least one variant weight is required")
    total = 0.0
    # An explicit loop, not sum(): Python >= 3.12 sums floats with compensation, and the
    # JS twin must see bit-identical boundaries.
    for w in weights:
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"variant weights must be finite and >= 0, got {w!r}")
        total += w
    if total <= 0:
        raise ValueError("variant weights must not all be zero")
    return [w / total for w in weights]


def bucket_ranges(weights: Sequence[float], coverage: float = 1.0) -> list[tuple[float, float]]:
    """Bucket ranges for ``weights`` (GrowthBook ``getBucketRanges`` semantics).

    Weights are normalised to sum to 1. Range ``i`` starts at the cumulative weight of
    the variants before it and has width ``coverage * weight_i``, so lowering or raising
    coverage only adds or drops units at the end of each range: nobody already in the
    experiment changes variant. Coverage is clamped to [0, 1].

    Unlike GrowthBook, weights that do not sum to 1 are rescaled rather than replaced by
    an equal split.

    Raises:
        ValueError: no weights, a negative or non-finite weight, or all weights zero.
    """
    cov = float(coverage)
    cov = 0.0 if not cov > 0 else min(cov, 1.0)  # NaN -> 0, like the JS twin
    ranges: list[tuple[float, float]] = []
    cumulative = 0.0
    for w in _normalised(weights):
        start = cumulative
        cumulative += w
        ranges.append((start, start + cov * w))
    return ranges


def choose_variant(
    seed: str, unit_id: str, weights: Sequence[float], coverage: float = 1.0
) -> int | None:
    """Index of the variant ``unit_id`` is assigned to, or None if outside the coverage."""
    n = hash_unit(seed, unit_id)
    for i, (start, end) in enumerate(bucket_ranges(weights, coverage)):
        if start <= n < end:
            return i
    return None


def assign(
    seed: str,
    unit_id: str,
    variants: Sequence[str],
    weights: Sequence[float] | None = None,
    coverage: float = 1.0,
) -> str | None:
    """Name of the variant for ``unit_id`` in the experiment seeded by ``seed``.

    Args:
        seed: the experiment's hash seed (by convention its key).
        unit_id: the randomisation unit, e.g. the visitor id.
        variants: variant names; the first is the baseline.
        weights: traffic split, normalised; an equal split when omitted.
        coverage: fraction of units included in the experiment.

    Returns:
        The variant name, or None when the unit is not in the experiment.
    """
    if weights is None:
        weights = [1.0] * len(variants)
    if len(weights) != len(variants):
        raise ValueError(f"{len(variants)} variants but {len(weights)} weights")
    index = choose_variant(seed, unit_id, weights, coverage)
    return None if index is None else variants[index]


def js_source() -> str:
    """Source text of the ``lsAssign`` JavaScript function, for inlining into the snippet."""
    return JS_SOURCE_PATH.read_text(encoding="utf-8")
