"""Validated events -> column blocks -> Arrow, without a Python object per event per column.

A request's events become one :class:`Block`: a list per warehouse column (per-request
constants such as org, browser or received_at are ``[value] * n``) plus every ``event_id``
packed into one 16-byte-per-event blob. The spool's group commit turns the blocks of many
requests into one Arrow record batch, so Arrow's C++ does the per-value work.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import numpy as np
import pyarrow as pa

from ingestion.enrich import channel_of, page_host
from ingestion.validate import EVENT_FIELDS, FUTURE_SKEW_MS, MAX_LEN, InEvent, LaxEvent
from kernel.events import Row
from kernel.schema import ARROW_SCHEMA, COLUMN_NAMES, FLAG_TS_CLAMPED

(E_EVENT, E_TS, E_ID, E_VISITOR, E_SESSION, E_MAGNET, E_EXPERIMENT, E_VARIANT, E_URL,
 E_REFERRER, E_UTM_SOURCE, E_UTM_MEDIUM, E_UTM_CAMPAIGN, E_UTM_TERM, E_UTM_CONTENT, E_VALUE,
 E_PROPS, E_COUNTRY) = range(len(EVENT_FIELDS))
if EVENT_FIELDS[E_COUNTRY] != "country" or EVENT_FIELDS[E_ID] != "event_id":
    raise RuntimeError("ingestion.columns' field positions disagree with kernel.events")

_props_encoder = msgspec.json.Encoder()
_V4 = bytes((x & 0x0F) | 0x40 for x in range(256))  # UUID version nibble := 4
_RFC = bytes((x & 0x3F) | 0x80 for x in range(256))  # UUID variant bits := 10


@dataclass(slots=True)
class RequestFacts:
    """What one request contributes to every one of its events."""

    org_id: str
    site_id: str
    received_ms: int
    browser: str
    os: str
    device: str
    country: str
    flags: int
    past_skew_ms: int
    trust_visitor_ids: bool  # False: cookieless org, client ids are ignored
    cookieless_id: Callable[[], str]
    #: Consent-required organization (ingestion.registry.visitor_filter): client ids kept
    #: only if in ``keep_only`` / dropped if in ``drop`` (replaced by the cookieless id).
    keep_only: AbstractSet[str] | None = None
    drop: AbstractSet[str] | None = None


CONST_COLUMNS = ("org_id", "site_id", "received_at", "device", "browser", "os")
VAR_COLUMNS = tuple(c for c in COLUMN_NAMES[1:] if c not in CONST_COLUMNS)


class Block:
    """Columns of one request.

    ``ids`` holds 16 bytes per event, ``consts`` one value per :data:`CONST_COLUMNS` (the
    same for every event of a request), ``cols`` one sequence per :data:`VAR_COLUMNS`.
    A *row* block (``row=True``, the pixel's one event) holds in ``cols`` the event's value
    per column instead: no one-element list per column, and a group of them is transposed
    into columns by one C-level ``zip`` at commit time (:func:`merge_blocks`).
    """

    __slots__ = ("n", "ids", "consts", "cols", "row")

    def __init__(self, n: int, ids: bytes, consts: tuple[Any, ...], cols: Sequence[Any],
                 row: bool = False) -> None:
        self.n, self.ids, self.consts, self.cols, self.row = n, ids, consts, cols, row

    def size_hint(self) -> int:
        """Rough bytes on disk, for the spool quota (URLs dominate)."""
        if self.row:
            return 96 + len(self.cols[_URL]) + len(self.cols[_REFERRER])
        return 96 * self.n + sum(map(len, self.cols[_URL])) + sum(map(len, self.cols[_REFERRER]))

    def columnar(self) -> Block:
        """This block with one sequence per column (a row block's values become 1-lists)."""
        if not self.row:
            return self
        return Block(1, self.ids, self.consts, [[v] for v in self.cols])


def random_ids(n: int) -> bytes:
    """``n`` random version-4 UUIDs as one blob (no per-id Python object)."""
    blob = bytearray(os.urandom(16 * n))
    blob[6::16] = blob[6::16].translate(_V4)
    blob[8::16] = blob[8::16].translate(_RFC)
    return bytes(blob)


class _IdPool:
    """Random v4 UUIDs made 4096 at a time (one urandom call), handed out 16 bytes each."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.buf = b""
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n > self.size // 4:
            return random_ids(n)
        if self.pos + 16 * n > len(self.buf):
            self.buf, self.pos = random_ids(self.size), 0
        out = self.buf[self.pos:self.pos + 16 * n]
        self.pos += 16 * n
        return out


new_ids = _IdPool().take  # only the event loop's thread calls it


def _ids(col: Sequence[Any]) -> bytes:
    if not any(col):
        return new_ids(len(col))
    return b"".join([
        u.bytes if type(u) is uuid.UUID else uuid.UUID(u).bytes if u else new_ids(1)
        for u in col
    ])


@lru_cache(maxsize=65536)
def cached_channel(referrer: str, source: str, medium: str, url: str) -> str:
    """``channel_of`` on the URL's host, cached (the same referrers and pages repeat)."""
    return channel_of(referrer, source, medium, page_host(url))


def channels(referrers: Sequence[str], sources: Sequence[str], mediums: Sequence[str],
             urls: Sequence[str]) -> list[str]:
    """Channel per event, classified once per distinct (referrer, source, medium).

    Only a "referral" can turn out to be internal navigation (referrer host = page host,
    hence "direct"), so only those look at the page URL.
    """
    keys = list(zip(referrers, sources, mediums, strict=True))
    memo = {k: channel_of(k[0], k[1], k[2], "") for k in set(keys)}
    out = [memo[k] for k in keys]
    if "referral" in out:
        for i, ch in enumerate(out):
            if ch == "referral" and not (sources[i] or mediums[i]):
                out[i] = cached_channel(referrers[i], "", "", urls[i])
    return out


_UTM = (E_UTM_SOURCE, E_UTM_MEDIUM, E_UTM_CAMPAIGN, E_UTM_TERM, E_UTM_CONTENT)
UTM_FIELDS = tuple(EVENT_FIELDS[k] for k in _UTM)


def utm_from_url(url: str, utm: Sequence[str]) -> list[str]:
    """``utm`` (source, medium, campaign, term, content) with blanks filled from ``url``."""
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:  # e.g. a malformed IPv6 host: keep the event, skip the UTMs
        return list(utm)
    return [u or query.get(name, [""])[0][: MAX_LEN[name]] for u, name in zip(utm, UTM_FIELDS, strict=True)]


def _utm_from_url(t: list[Any]) -> None:
    """Fill the utm_* columns an event left empty from its page URL's query string."""
    cols = [list(t[k]) for k in _UTM]
    for i, url in enumerate(t[E_URL]):
        if "utm_" in url:
            for col, value in zip(cols, utm_from_url(url, [c[i] for c in cols]), strict=True):
                col[i] = value
    for k, col in zip(_UTM, cols, strict=True):
        t[k] = col


def build_block(
    events: Sequence[InEvent | LaxEvent], ctx: RequestFacts
) -> tuple[Block | None, list[tuple[int, str]]]:
    """Columns for ``events``; returns the block and (position, reason) for refused events."""
    n = len(events)
    if n == 0:
        return None, []
    t = list(zip(*[msgspec.structs.astuple(e) for e in events], strict=True))
    # C-level scans: a generator per event costs more than the rest of the column work
    if "utm_" in "\n".join(t[E_URL]) and any("" in t[k] for k in _UTM):
        _utm_from_url(t)
    props: Sequence[str]
    if t[E_PROPS].count(None) != n:
        props = [_props_encoder.encode(p).decode() if p else "" for p in t[E_PROPS]]
        limit = MAX_LEN["props"]
        bad = [(i, f"props is {len(p)} bytes of JSON; the limit is {limit}")
               for i, p in enumerate(props) if len(p) > limit]
        if bad:
            drop = {i for i, _ in bad}
            block, more = build_block([e for i, e in enumerate(events) if i not in drop], ctx)
            keep = [i for i in range(n) if i not in drop]
            return block, bad + [(keep[j], r) for j, r in more]
    else:
        props = [""] * n
    received = ctx.received_ms
    lo, hi = received - ctx.past_skew_ms, received + FUTURE_SKEW_MS
    ts = [received if x is None else int(x) if lo <= x <= hi else -1 for x in t[E_TS]]
    if -1 in ts:  # implausible client clock: clamp to received_at and flag it
        flags = [ctx.flags | FLAG_TS_CLAMPED if x == -1 else ctx.flags for x in ts]
        ts = [received if x == -1 else x for x in ts]
    else:
        flags = [ctx.flags] * n
    visitors: Sequence[str] = t[E_VISITOR]
    if ctx.keep_only is not None and ctx.trust_visitor_ids:
        granted = ctx.keep_only
        visitors = [v if v in granted else "" for v in visitors]
    elif ctx.drop and ctx.trust_visitor_ids:
        withdrawn = ctx.drop
        visitors = [v if v not in withdrawn else "" for v in visitors]
    if not ctx.trust_visitor_ids:
        visitors = [ctx.cookieless_id()] * n
    elif "" in visitors:
        cid = ctx.cookieless_id()
        visitors = [v or cid for v in visitors]
    country: Sequence[str] = [ctx.country] * n
    if any(t[E_COUNTRY]):
        country = [c.upper() if c else ctx.country for c in t[E_COUNTRY]]
    channel = channels(t[E_REFERRER], t[E_UTM_SOURCE], t[E_UTM_MEDIUM], t[E_URL])
    cols: list[Sequence[Any]] = [
        ts, t[E_EVENT], visitors, t[E_SESSION], t[E_MAGNET], t[E_EXPERIMENT], t[E_VARIANT],
        t[E_URL], t[E_REFERRER], t[E_UTM_SOURCE], t[E_UTM_MEDIUM], t[E_UTM_CAMPAIGN],
        t[E_UTM_TERM], t[E_UTM_CONTENT], channel, country, t[E_VALUE], props, flags,
    ]
    consts = (ctx.org_id, ctx.site_id, received, ctx.device, ctx.browser, ctx.os)
    return Block(n, _ids(t[E_ID]), consts, cols), []


def rows_to_block(rows: Sequence[Row]) -> Block:
    """A block from warehouse rows (tools and tests that write the spool directly).

    Its "constants" are per-row lists, since rows may come from many organizations.
    """
    by_name = dict(zip(COLUMN_NAMES, zip(*rows, strict=True), strict=True))
    ids = b"".join(r if isinstance(r, bytes) else uuid.UUID(str(r)).bytes for r in by_name["event_id"])
    return Block(len(rows), ids, tuple(list(by_name[c]) for c in CONST_COLUMNS),
                 [list(by_name[c]) for c in VAR_COLUMNS])


def merge_blocks(blocks: Sequence[Block]) -> Block:
    """One block holding every event of ``blocks`` (its "constants" become per-row lists)."""
    if len(blocks) == 1:
        return blocks[0].columnar()
    ids = b"".join([b.ids for b in blocks])
    if all(b.row for b in blocks):  # pixel traffic: transpose the rows in C
        return Block(len(blocks), ids, tuple(map(list, zip(*[b.consts for b in blocks], strict=True))),
                     list(map(list, zip(*[b.cols for b in blocks], strict=True))))
    blocks = [b.columnar() for b in blocks]
    counts = [b.n for b in blocks]
    cols: list[Sequence[Any]] = [list(chain.from_iterable(parts))
                                 for parts in zip(*[b.cols for b in blocks], strict=True)]
    consts: list[list[Any]] = []
    for per_block in zip(*[b.consts for b in blocks], strict=True):
        if max(counts) == 1 and not any(isinstance(v, list) for v in per_block):
            consts.append(list(per_block))
        else:
            consts.append(list(chain.from_iterable(
                v if isinstance(v, list) else [v] * c for v, c in zip(per_block, counts, strict=True))))
    return Block(sum(counts), ids, tuple(consts), cols)


_TYPES = {f.name: f.type for f in ARROW_SCHEMA}
_VAR_INDEX = {c: i for i, c in enumerate(VAR_COLUMNS)}
_CONST_INDEX = {c: i for i, c in enumerate(CONST_COLUMNS)}
_URL, _REFERRER = _VAR_INDEX["url"], _VAR_INDEX["referrer"]


def _array(values: Sequence[Any], typ: pa.DataType) -> pa.Array:
    n = len(values)
    if n and values.count(values[0]) == n:  # empty or constant columns are common
        return pa.repeat(pa.scalar(values[0], typ), n)
    if pa.types.is_timestamp(typ):
        return pa.array(values, pa.int64()).cast(typ)  # twice as fast as ints -> timestamp
    return pa.array(values, typ)


def to_record_batch(blocks: Sequence[Block]) -> pa.RecordBatch:
    """One Arrow record batch (schema :data:`ARROW_SCHEMA`) from the blocks of many requests."""
    if any(b.row for b in blocks):
        blocks = [merge_blocks(blocks)]
    counts = [b.n for b in blocks]
    n = sum(counts)
    ids = blocks[0].ids if len(blocks) == 1 else b"".join([b.ids for b in blocks])
    storage = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(ids)])
    arrays: list[pa.Array] = [pa.ExtensionArray.from_storage(pa.uuid(), storage)]
    # Transpose once, in C: one tuple per column holding every block's values.
    var_cols = list(zip(*[b.cols for b in blocks], strict=True))
    const_cols = list(zip(*[b.consts for b in blocks], strict=True))
    take: pa.Array | None = None
    for name in COLUMN_NAMES[1:]:
        typ = _TYPES[name]
        if name in _CONST_INDEX:
            per_block = const_cols[_CONST_INDEX[name]]
            if any(isinstance(v, list) for v in per_block):  # rows_to_block's per-row form
                merged = chain.from_iterable(
                    v if isinstance(v, list) else [v] * c for v, c in zip(per_block, counts, strict=True))
                arrays.append(_array(list(merged), typ))
            elif per_block.count(per_block[0]) == len(per_block):
                arrays.append(pa.repeat(pa.scalar(per_block[0], typ), n))
            else:
                if take is None:
                    take = pa.array(np.repeat(np.arange(len(blocks), dtype=np.int32), counts))
                arrays.append(_array(per_block, typ).take(take))
            continue
        parts = var_cols[_VAR_INDEX[name]]
        values = parts[0] if len(parts) == 1 else list(chain.from_iterable(parts))
        arrays.append(_array(values, typ))
    return pa.RecordBatch.from_arrays(arrays, schema=ARROW_SCHEMA)
