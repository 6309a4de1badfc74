"""The byte scan that proves an erasure: every file under the data directory, decoded where
the bytes are compressed, and every table of the metadata database and the warehouse.

Files are searched raw (lower-cased, also URL-encoded) and through what compresses them:
Parquet columns, ClickHouse compressed blocks (LZ4/ZSTD, the ``.bin`` files of a chDB or
ClickHouse data directory), zip and gzip members, mail parts (``.eml``), PDF streams. A hit
names the file or table and how it was found, never the value.
"""

from __future__ import annotations

import email
import gzip
import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

CH_BLOCK = struct.Struct("<16sBII")  # checksum, method, compressed size (with header), size
CH_CODECS = {0x82: "lz4_raw", 0x90: "zstd"}
PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)
MAX_DEPTH = 3
#: Files read and decoded at once (bounded by the cores; each holds one file in memory).
WORKERS = max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class Hit:
    where: str  # a path relative to the data directory, or "metadata:<table>.<column>"
    how: str  # raw | parquet | clickhouse-block | zip | gzip | mail | pdf | sql


def variants(needles: list[str]) -> list[bytes]:
    """Byte forms a needle may take in a file (lower-cased for a case-blind search)."""
    out: set[bytes] = set()
    for n in needles:
        n = n.lower()
        out |= {n.encode(), quote(n).lower().encode(), quote_plus(n).lower().encode()}
    return sorted(out)


def content_hits(data: bytes, needles: list[bytes], depth: int = 0) -> list[str]:
    """How ``data`` contains a needle (empty list: it does not)."""
    found: list[str] = []
    low = data.lower()
    if any(n in low for n in needles):
        found.append("raw")
    if depth >= MAX_DEPTH:
        return found
    for how, inner in _decoded(data):
        if inner is None:
            continue
        if isinstance(inner, pa.Table):
            if _table_hit(inner, needles):
                found.append(how)
        elif content_hits(inner, needles, depth + 1):
            found.append(how)
    return found


def _decoded(data: bytes) -> Iterator[tuple[str, bytes | pa.Table | None]]:
    if data[:4] == b"PAR1" and data[-4:] == b"PAR1":
        try:
            yield "parquet", _read_parquet(data)
        except (pa.ArrowException, OSError):
            pass
    if data[:2] == b"\x1f\x8b":
        try:
            yield "gzip", gzip.decompress(data)
        except (OSError, EOFError):
            pass
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for name in zf.namelist():
                    yield "zip", zf.read(name)
        except zipfile.BadZipFile:
            pass
    if data[:5] == b"%PDF-":
        for m in PDF_STREAM.finditer(data):
            try:
                yield "pdf", zlib.decompress(m.group(1))
            except zlib.error:
                continue
    if data[:2000].lower().count(b"\nsubject:") or data[:5].lower() in (b"from:", b"to: ", b"mime-"):
        msg = email.message_from_bytes(data)
        for part in msg.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                yield "mail", payload
    blocks = _clickhouse_blocks(data)
    if blocks:
        yield "clickhouse-block", blocks


def _read_parquet(data: bytes) -> pa.Table:
    """Every column of a Parquet file, its text columns dictionary-encoded: each distinct
    value (every value of the dictionary pages, used or not) is searched once."""
    buf = pa.py_buffer(data)  # read by Arrow without the GIL (a BytesIO would take it)
    schema = pq.read_schema(pa.BufferReader(buf))
    texts = [f.name for f in schema if pa.types.is_string(f.type) or
             pa.types.is_large_string(f.type)]
    return pq.read_table(pa.BufferReader(buf), read_dictionary=texts, use_threads=False)


def _clickhouse_blocks(data: bytes) -> bytes | None:
    """The decompressed content of a ClickHouse compressed file, or None if it is not one."""
    out = []
    pos = 0
    while pos + CH_BLOCK.size <= len(data):
        _sum, method, csize, size = CH_BLOCK.unpack_from(data, pos)
        start = pos + 16
        end = start + csize
        if csize < 9 or end > len(data) or size > 256 * 1024 * 1024:
            return None
        body = data[start + 9:end]
        if method == 0x02:
            out.append(body)
        elif method in CH_CODECS:
            try:
                out.append(pa.decompress(body, decompressed_size=size,
                                         codec=CH_CODECS[method]).to_pybytes())
            except (pa.ArrowException, ValueError):
                return None
        else:
            return None
        pos = end
    return b"".join(out) if out and pos == len(data) else None


def _table_hit(table: pa.Table, needles: list[bytes]) -> bool:
    texts = [n.decode(errors="ignore") for n in needles]
    for col in table.columns:
        for chunk in col.chunks:
            values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
            if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
                continue
            lowered = pc.utf8_lower(values)
            if any(pc.any(pc.match_substring(lowered, n)).as_py() for n in texts):
                return True
    return False


def scan_files(root: Path, needles: list[str]) -> list[Hit]:
    """Every file under ``root`` that contains a needle, in any of the forms above (files
    are read and decoded a few at a time: Arrow decodes outside the GIL)."""
    forms = variants(needles)
    paths = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())

    def one(path: Path) -> list[Hit]:
        try:
            data = path.read_bytes()
        except OSError:
            return []
        return [Hit(str(path.relative_to(root)), how) for how in content_hits(data, forms)]

    with ThreadPoolExecutor(WORKERS) as pool:
        return [hit for hits in pool.map(one, paths) for hit in hits]


def scan_database(engine: sa.Engine, needles: list[str]) -> list[Hit]:
    """Every text-like column of every table of the metadata database (all organizations)."""
    meta = sa.MetaData()
    meta.reflect(engine)
    hits = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for col in table.columns:
                if isinstance(col.type, sa.Integer | sa.Float | sa.Boolean | sa.DateTime |
                              sa.Date | sa.Numeric):
                    continue
                text = sa.func.lower(sa.cast(col, sa.Text))
                cond = sa.or_(*(text.contains(n.lower(), autoescape=True) for n in needles))
                n = conn.execute(sa.select(sa.func.count()).select_from(table).where(cond)).scalar()
                if n:
                    hits.append(Hit(f"metadata:{table.name}.{col.name}", "sql"))
    return hits


def scan_warehouse(client: Any, needles: list[str]) -> list[Hit]:
    """Every String column of every table of a ClickHouse database (server or chDB)."""
    hits = []
    cols = client.query("SELECT table, name FROM system.columns WHERE database = "
                        "currentDatabase() AND type LIKE '%String%'").result_rows
    for table, name in cols:
        n = client.query(f"SELECT count() FROM `{table}` WHERE multiSearchAnyCaseInsensitive("
                         f"toString(`{name}`), {{n:Array(String)}})",
                         parameters={"n": needles}).result_rows[0][0]
        if n:
            hits.append(Hit(f"warehouse:{table}.{name}", "sql"))
    return hits
