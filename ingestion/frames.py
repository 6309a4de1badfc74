"""Spool frames: ``[u32 length][u32 crc32][payload]``, one per group commit.

A payload is either an Arrow IPC stream holding one record batch (large groups: the
per-value conversion runs in C++ once) or, tagged ``0x01``, one msgpack'd column block
(small groups such as pixel traffic, where pyarrow's fixed cost per column would dominate;
the shipper converts many of them at once). Segments written before the columnar format
(a msgpack list of rows) are still read.
"""

from __future__ import annotations

import gc
import logging
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa

from ingestion.columns import Block, merge_blocks, rows_to_block, to_record_batch
from kernel.schema import ARROW_SCHEMA

log = logging.getLogger(__name__)

HEADER = struct.Struct("<II")
IPC_MARK = b"\xff\xff\xff\xff"  # every Arrow IPC stream message starts with it
BLOCKS_TAG = b"\x01"  # msgpack'd blocks (a legacy rows frame starts with a msgpack array)
ARROW_MIN_ROWS = 256
_encoder = msgspec.msgpack.Encoder()
_blocks = msgspec.msgpack.Decoder()  # untyped: 5x faster than a typed nested decode
_legacy = msgspec.msgpack.Decoder(list[tuple[Any, ...]])


def encode_frame(blocks: list[Block]) -> bytes:
    """One frame for the blocks of a group commit, length- and CRC-prefixed.

    Large groups become one Arrow record batch (the per-value work in C++, paid once);
    small ones (pixel traffic) are msgpack'd as they are, because pyarrow's fixed cost per
    column would dominate, and the shipper converts many of them at once instead.
    """
    if sum(b.n for b in blocks) >= ARROW_MIN_ROWS:
        batch = to_record_batch(blocks)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        payload = sink.getvalue().to_pybytes()
    else:
        block = merge_blocks(blocks)
        payload = BLOCKS_TAG + _encoder.encode([block.n, block.ids, block.consts, block.cols])
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_frames(path: Path) -> Iterator[pa.Table | list[Block]]:
    """Yield every intact frame of a segment (a table or blocks); stop at a torn frame."""
    with open(path, "rb") as fh:
        data = fh.read()
    view = memoryview(data)
    pos = 0
    while pos + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, pos)
        start, end = pos + HEADER.size, pos + HEADER.size + length
        if end > len(data) or zlib.crc32(view[start:end]) != crc:
            log.warning("spool segment %s: torn frame at byte %d dropped", path.name, pos)
            return
        payload = view[start:end]
        if payload[:4] == IPC_MARK:
            yield pa.ipc.open_stream(pa.py_buffer(payload)).read_all()
        elif payload[:1] == BLOCKS_TAG:
            n, ids, consts, cols = _blocks.decode(payload[1:])
            yield [Block(n, ids, tuple(consts), cols)]
        else:  # a segment written before the columnar format: msgpack rows
            yield [rows_to_block([tuple(r) for r in _legacy.decode(payload)])]
        pos = end


def read_table(paths: list[Path]) -> pa.Table:
    """Every intact frame of ``paths`` as one table (blocks converted together, at once)."""
    tables: list[pa.Table] = []
    blocks: list[Block] = []
    paused = gc.isenabled()
    gc.disable()  # decoding creates many lists and nothing cyclic: spare the collector's passes
    try:
        for p in paths:
            for frame in read_frames(p):
                if isinstance(frame, list):
                    blocks.extend(frame)
                else:
                    tables.append(frame)
        if blocks:
            tables.append(pa.Table.from_batches([to_record_batch(blocks)]))
    finally:
        if paused:
            gc.enable()
    return pa.concat_tables(tables) if tables else ARROW_SCHEMA.empty_table()
