"""Vectorised journey generation for the simulator: numpy per visit round, Arrow columns out.

A Python loop over events costs ~3 µs an event; here each visit round is a handful of numpy
operations over every visitor still active, and string columns are built as dictionary
indices, so 10M events take seconds. The behaviour model is the one documented in
``lodestone/simulate.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from experiments.assignment import bucket_ranges
from kernel.schema import ARROW_SCHEMA

FNV_BASIS = np.uint64(0x811C9DC5)
FNV_PRIME = np.uint64(0x01000193)
MASK32 = np.uint64(0xFFFFFFFF)
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_ids(g: np.random.Generator, n: int, chars: int = 32) -> pa.StringArray:
    """``n`` random lowercase hex strings of ``chars`` characters (uuid4-shaped at 32)."""
    raw = g.integers(0, 256, size=(n, chars // 2), dtype=np.uint8)
    if chars == 32:
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    out = np.empty((n, chars), dtype=np.uint8)
    out[:, 0::2] = HEX[raw >> 4]
    out[:, 1::2] = HEX[raw & 0x0F]
    offsets = np.arange(0, chars * (n + 1), chars, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out.tobytes()))


def _fnv_columns(h: np.ndarray, cols: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    for j in range(cols.shape[1]):
        nxt = ((h ^ cols[:, j].astype(np.uint64)) * FNV_PRIME) & MASK32
        h = nxt if valid is None else np.where(valid[:, j], nxt, h)
    return h


def hash_buckets(seed: str, ids: pa.StringArray, width: int) -> np.ndarray:
    """GrowthBook hash v2 buckets (as ``experiments.assignment.hash_unit``) for fixed-width ids."""
    raw = np.frombuffer(ids.buffers()[2], dtype=np.uint8)[: len(ids) * width]
    h = np.full(len(ids), FNV_BASIS, dtype=np.uint64)
    h = _fnv_columns(h, np.frombuffer(seed.encode(), dtype=np.uint8)[None, :].repeat(len(ids), 0))
    h = _fnv_columns(h, raw.reshape(len(ids), width))
    # second round over the decimal text of the first hash (1 to 10 digits)
    digits = np.stack([(h // np.uint64(10**k)) % np.uint64(10) for k in range(9, -1, -1)], 1)
    ndig = 1 + np.sum([h >= np.uint64(10**k) for k in range(1, 10)], axis=0)
    valid = np.arange(10)[None, :] >= (10 - ndig)[:, None]
    h2 = _fnv_columns(np.full(len(ids), FNV_BASIS, dtype=np.uint64), digits + 48, valid)
    return (h2 % np.uint64(10000)).astype(np.float64) / 10000


def assign_variants(seed: str, ids: pa.StringArray, weights: Sequence[float],
                    width: int = 32) -> np.ndarray:
    """Variant index per id (-1 outside coverage), identical to ``choose_variant``."""
    buckets = hash_buckets(seed, ids, width)
    out = np.full(len(ids), -1, dtype=np.int64)
    for i, (start, end) in enumerate(bucket_ranges(weights)):
        out[(buckets >= start) & (buckets < end)] = i
    return out


@dataclass
class EventColumns:
    """Events as parallel arrays; strings are indices into small dictionaries."""

    visitor: list[np.ndarray]
    session: list[np.ndarray]
    kind: list[np.ndarray]
    ts: list[np.ndarray]
    value: list[np.ndarray]
    channel: list[np.ndarray]
    url: list[np.ndarray]
    on_magnet: list[np.ndarray]

    @classmethod
    def empty(cls) -> EventColumns:
        return cls([], [], [], [], [], [], [], [])

    def add(self, mask: np.ndarray, visitor: np.ndarray, session: np.ndarray, kind: int,
            ts: np.ndarray, channel: np.ndarray, url: int | np.ndarray, on_magnet: bool,
            value: np.ndarray | None = None) -> None:
        """Add one event of ``kind`` for every visit selected by the boolean ``mask``."""
        n = int(mask.sum())
        self.visitor.append(visitor[mask])
        self.session.append(session[mask])
        self.kind.append(np.full(n, kind, dtype=np.int8))
        self.ts.append(ts[mask])
        self.value.append(np.zeros(n) if value is None else value[mask])
        self.channel.append(channel[mask])
        self.url.append(np.full(n, url, dtype=np.int8) if isinstance(url, int) else url[mask])
        self.on_magnet.append(np.full(n, on_magnet))

    def sorted(self) -> dict[str, np.ndarray]:
        """The columns concatenated and ordered by time (permuting integers is cheap;
        permuting built string columns is not)."""
        cols = {k: np.concatenate(getattr(self, k)) if getattr(self, k) else np.zeros(0)
                for k in self.__dataclass_fields__}
        order = np.argsort(cols["ts"], kind="stable")
        return {k: v[order] for k, v in cols.items()}


def decode(indices: np.ndarray, dictionary: Sequence[str]) -> pa.Array:
    """Plain string column from small-dictionary indices (a gather from a tiny dictionary
    is cache-friendly; ``dictionary_decode`` is several times slower)."""
    return pc.take(pa.array(list(dictionary), pa.string()), pa.array(indices.astype(np.int32)))


def uuid_column(g: np.random.Generator, n: int) -> pa.Array:
    raw = g.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    storage = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n,
                                                   [None, pa.py_buffer(raw.tobytes())])
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def build_table(columns: dict[str, pa.Array]) -> pa.Table:
    """An events table in :data:`ARROW_SCHEMA` order; missing string columns are empty."""
    n = len(columns["ts"])
    arrays = []
    for field in ARROW_SCHEMA:
        col = columns.get(field.name)
        if col is None:  # an all-empty string column: zero offsets, no data
            col = pa.StringArray.from_buffers(n, pa.py_buffer(np.zeros(n + 1, np.int32)),
                                              pa.py_buffer(b""))
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)
