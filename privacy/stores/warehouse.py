"""Events and derived tables: the embedded Parquet lake or ClickHouse (a server or chDB).

An event is the person's when its ``visitor_id`` is one of theirs or when any text column
(props, url, referrer, UTM) contains their email or a visitor id. Derived tables with a
``visitor_id`` column (sessions, conversion paths) lose that visitor's rows; aggregates
without identifiers keep their counts.

- **Lake:** each Parquet file holding a matching row is rewritten without it (temporary
  file + rename), swapped for the old one in the manifest in one atomic replace (as
  compaction does), and the old file is deleted at once instead of after the grace period.
- **ClickHouse:** ``ALTER TABLE ... DELETE`` mutations, run with ``mutations_sync = 2`` and
  checked in ``system.mutations`` and by a recount. The mutation's text is kept by
  ClickHouse, so it names event ids (random UUIDs) and salted hashes of visitor ids, never
  an email or a visitor id. Then it waits (``LODESTONE_PRIVACY_CLEANUP_WAIT_S``) for the
  replaced parts to leave the disk.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kernel.durable import fsync_dir
from kernel.warehouse.base import Warehouse, WarehouseError
from kernel.warehouse.lake import ROW_GROUP_ROWS, LakeFile, LakeTable, parquet_writer_atomic
from privacy.subject import Subject

TEXT_COLUMNS = ("props", "url", "referrer", "utm_source", "utm_medium", "utm_campaign",
                "utm_term", "utm_content")
ID_CHUNK = 5000


def condition(subject: Subject, columns: tuple[str, ...] = TEXT_COLUMNS,
              org_column: bool = True) -> tuple[str, dict[str, Any]]:
    """SQL matching the subject's rows, with its bound parameters."""
    parts = ["visitor_id IN {__vids:Array(String)}"] if subject.visitor_ids else []
    if subject.needles:
        parts += [f"multiSearchAnyCaseInsensitive({c}, {{__needles:Array(String)}})"
                  for c in columns]
    where = " OR ".join(parts) or "0"
    if org_column:
        where = f"org_id = {{__org:String}} AND ({where})"
    return where, {"__vids": list(subject.visitor_ids), "__needles": subject.needles,
                   "__org": subject.org_id}


def _per_value(col: pa.ChunkedArray | pa.Array,
               fn: Callable[[pa.Array], pa.Array]) -> pa.ChunkedArray | pa.Array:
    """``fn(col)`` (a boolean per row); on a dictionary-encoded column ``fn`` runs once per
    distinct value and the result is taken by the indices (the lake's columns are read so)."""
    if isinstance(col, pa.ChunkedArray):
        if not pa.types.is_dictionary(col.type):
            return fn(col)
        return pa.chunked_array([_per_value(c, fn) for c in col.chunks], pa.bool_())
    if pa.types.is_dictionary(col.type):
        return pc.take(fn(col.dictionary), col.indices)
    return fn(col)


def mask(table: pa.Table, subject: Subject, texts: tuple[str, ...] = TEXT_COLUMNS) -> pa.Array:
    """The rows of ``table`` (Arrow) that are the subject's, by the same rule as the SQL.
    Columns may be dictionary-encoded: each distinct value is then tested once."""
    names = set(table.column_names)
    vids = pa.array(list(subject.visitor_ids), pa.string())
    needles = [n.lower() for n in subject.needles]

    def mentions(values: pa.Array) -> pa.Array:
        lowered = pc.utf8_lower(values)  # ignore_case would run a regex: slower
        hit = pc.match_substring(lowered, needles[0])
        for needle in needles[1:]:
            hit = pc.or_(hit, pc.match_substring(lowered, needle))
        return hit

    parts = [_per_value(table["visitor_id"], lambda v: pc.is_in(v, value_set=vids))
             ] if subject.visitor_ids else []
    parts += [_per_value(table[c], mentions) for c in texts if c in names and needles]
    if not parts:
        return pa.array(np.zeros(table.num_rows, dtype=bool))
    m = parts[0]
    for part in parts[1:]:
        m = pc.or_(m, part)
    if "org_id" in names:
        m = pc.and_(m, _per_value(table["org_id"], lambda v: pc.equal(v, subject.org_id)))
    return pc.fill_null(m, False)


def discover_visitors(wh: Any, subject: Subject) -> list[str]:
    """Visitor ids of events that carry the person's email (a form's props, a server event)."""
    if not subject.email:
        return []
    email = Subject(subject.org_id, subject.email)
    if getattr(wh, "kind", "") == "lake":
        return _discover_lake(wh.events, email)
    where, params = condition(email)
    rows = wh.query("SELECT DISTINCT visitor_id AS v FROM {{ source('events') }} "
                    f"WHERE visitor_id != '' AND {where}", params)
    return sorted(str(r["v"]) for r in rows)


def find(wh: Warehouse, subject: Subject) -> list[dict[str, Any]]:
    """The person's events (every column), oldest first."""
    if not (subject.visitor_ids or subject.needles):
        return []
    where, params = condition(subject)
    rows = wh.query(f"SELECT * FROM {{{{ source('events') }}}} WHERE {where} ORDER BY ts",
                    params)
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if k == "event_id" else v)
             for k, v in r.items()} for r in rows]


def erase(wh: Warehouse, subject: Subject, cleanup_wait_s: float = 120.0) -> dict[str, int]:
    """Remove the person's rows everywhere in the warehouse; ``{table: rows removed}``."""
    if not (subject.visitor_ids or subject.needles):
        return {}
    if wh.kind == "lake":
        return _erase_lake(wh, subject)
    return _erase_clickhouse(wh, subject, cleanup_wait_s)


# -- lake --------------------------------------------------------------------------------------
def _lake_tables(wh: Any) -> list[tuple[str, LakeTable, bool]]:
    """(name, table, is the events table) for events and every model with a visitor_id."""
    out: list[tuple[str, LakeTable, bool]] = [("events", wh.events, True)]
    models = Path(wh.root) / "models"
    for d in sorted(models.glob("*/_structure")):
        structure = d.read_text(encoding="utf-8")
        if "`visitor_id`" in structure:
            out.append((d.parent.name, LakeTable(d.parent, structure), False))
    return out


#: Files scanned and rewritten at once: Arrow decodes, filters and encodes outside the GIL.
WORKERS = max(1, min(8, os.cpu_count() or 1))

Masks = list[pa.ChunkedArray | None]
#: Passes over a table's files: the files a compaction wrote while a pass ran are read by
#: the next one (bounded: appends that keep coming are the person's new visits, not theirs to
#: erase here).
PASSES = 3
#: Below this many encoded bytes a row (dictionary indices + dictionary page), a text column
#: is read dictionary-encoded (see _few_values).
DICT_BYTES_PER_ROW = 4


def _few_values(meta: pq.FileMetaData, columns: list[str]) -> list[str]:
    """The columns worth reading (and writing) dictionary-encoded: few distinct values per
    row group (under DICT_BYTES_PER_ROW encoded bytes a row). A column of mostly distinct
    values (visitor ids) is read plain: building its dictionary would hash every value,
    testing it costs the same."""
    index = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
    out = []
    for name in (c for c in columns if c in index):
        sizes = [(meta.row_group(g).column(index[name]).total_uncompressed_size,
                  meta.row_group(g).num_rows) for g in range(meta.num_row_groups)]
        if all(size <= DICT_BYTES_PER_ROW * max(rows, 1) for size, rows in sizes):
            out.append(name)
    return out


def _file_masks(path: Path, subject: Subject, texts: tuple[str, ...]) -> Masks | None:
    """Per row group of the file, the subject's rows (None: the group has none); None when
    the file has none of them or is gone. Reads only the columns the rule needs, dictionary-
    encoded, so a text is tested once per distinct value of a row group, not once per row."""
    try:
        plain = pq.ParquetFile(path)
    except FileNotFoundError:
        return None
    schema = plain.schema_arrow
    ids = ("visitor_id",) if subject.visitor_ids else ()
    cols = [c for c in ("org_id", *ids, *texts) if c in schema.names]
    strings = [c for c in cols if pa.types.is_string(schema.field(c).type)]
    pf = pq.ParquetFile(path, metadata=plain.metadata,
                        read_dictionary=_few_values(plain.metadata, strings))
    masks: Masks = []
    for i in range(pf.metadata.num_row_groups):
        m = mask(pf.read_row_group(i, columns=cols, use_threads=False), subject, texts)
        masks.append(m if pc.any(m).as_py() else None)
    return masks if any(m is not None for m in masks) else None


def _compact(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A filtered dictionary column whose dictionaries hold only the values still used: the
    writer writes a dictionary page as it is, so a removed row's value would stay in it."""
    chunks = []
    for c in col.chunks:
        if c.null_count:
            used = pc.drop_null(pc.unique(c.indices))
            chunks.append(pa.DictionaryArray.from_arrays(
                pc.index_in(c.indices, value_set=used), c.dictionary.take(used)))
            continue
        idx = c.indices.to_numpy()
        hit = np.bincount(idx, minlength=len(c.dictionary)) > 0  # a count, not a hash
        if hit.all():
            chunks.append(c)
            continue
        renumber = (np.cumsum(hit) - 1).astype(idx.dtype)
        chunks.append(pa.DictionaryArray.from_arrays(pa.array(renumber[idx]),
                                                     c.dictionary.filter(pa.array(hit))))
    return pa.chunked_array(chunks, col.type)


def _rewrite(table: LakeTable, old: LakeFile, masks: Masks) -> tuple[LakeFile | None, int]:
    """Write the file ``old`` again without the masked rows, row group by row group, with
    the lake's codec (temporary file, fsync, rename); (new file or None, rows removed).

    Text columns of few distinct values are read, filtered and written dictionary-encoded
    (not decoded to one string a row and encoded again: 40 % less CPU), their dictionaries
    compacted to the values left; a column of mostly distinct values (event ids, timestamps)
    is written without a dictionary (no hashing that overflows into plain pages anyway: 20 %
    less CPU, files 9 % smaller). The file keeps the old one's key-value metadata (its Arrow
    schema), so every column reads back with the type it had."""
    path = table.dir / old.name
    plain = pq.ParquetFile(path)
    meta = plain.metadata
    removed = sum(pc.sum(m).as_py() or 0 for m in masks if m is not None)
    if removed >= meta.num_rows:
        return None, removed
    schema = plain.schema_arrow
    strings = [f.name for f in schema if pa.types.is_string(f.type)]
    src = pq.ParquetFile(path, metadata=meta, read_dictionary=_few_values(meta, strings))
    new = f"erased-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
    with parquet_writer_atomic(table.dir / new, src.schema_arrow,
                               key_value=dict(meta.metadata or {}),
                               use_dictionary=_few_values(meta, schema.names)) as writer:
        for i, m in enumerate(masks):
            group = src.read_row_group(i, use_threads=False)
            if m is not None:
                group = group.filter(pc.invert(m))
            group = pa.table([_compact(c) if pa.types.is_dictionary(c.type) else c
                              for c in group.columns], schema=group.schema)
            if group.num_rows:
                writer.write_table(group, row_group_size=ROW_GROUP_ROWS)
    return LakeFile(new, meta.num_rows - removed, old.partition), removed


def _discover_lake(table: LakeTable, email: Subject) -> list[str]:
    """discover_visitors on the lake: the text columns searched as the erasure searches them
    (dictionary-encoded, a few files at once); visitor_id read only where the email is."""

    def one(f: LakeFile) -> set[str]:
        path = table.dir / f.name
        masks = _file_masks(path, email, TEXT_COLUMNS)
        if masks is None:
            return set()
        try:
            pf = pq.ParquetFile(path)
        except FileNotFoundError:
            return set()
        return {v for i, m in enumerate(masks) if m is not None for v in pc.unique(
            pf.read_row_group(i, columns=["visitor_id"])["visitor_id"].filter(m)).to_pylist()}

    with ThreadPoolExecutor(WORKERS) as pool:
        found = set().union(*pool.map(one, table.files()))
    return sorted(v for v in found if v)


def _erase_table(table: LakeTable, subject: Subject, texts: tuple[str, ...],
                 pool: ThreadPoolExecutor) -> int:
    """Rewrite every file of ``table`` holding the subject's rows without them; the new files
    replace the old ones in the manifest in one atomic swap and the old ones are deleted."""

    def one(f: LakeFile) -> tuple[LakeFile, LakeFile | None, int] | None:
        masks = _file_masks(table.dir / f.name, subject, texts)
        if masks is None:
            return None
        try:
            new, n = _rewrite(table, f, masks)
        except FileNotFoundError:  # a compaction replaced it meanwhile: the next pass
            return None
        return f, new, n

    removed = 0
    seen: set[str] = set()
    for _pass in range(PASSES):  # another pass only for files a compaction (or an append)
        files = [f for f in table.files() if f.name not in seen]  # made meanwhile
        if not files:
            break
        seen |= {f.name for f in files}
        done = [r for r in pool.map(one, files) if r is not None]
        if not done:
            continue
        news = [new for _old, new, _n in done if new is not None]
        seen |= {f.name for f in news}
        try:
            table.swap([old.name for old, _new, _n in done], news)
            removed += sum(n for _old, _new, n in done)
        except RuntimeError:  # a file left the manifest (compacted): swap the others alone
            for old, new, n in done:
                try:
                    table.swap([old.name], [new] if new else [])
                    removed += n
                except RuntimeError:
                    if new:
                        (table.dir / new.name).unlink(missing_ok=True)
        table.purge([old.name for old, _new, _n in done])
    # Files replaced in the manifest but still on disk (a crash after a swap and before the
    # purge, or a compaction's grace period): delete those holding the person now.
    retired = table.retired()
    stale = [name for name, masks in zip(
        retired, pool.map(lambda n: _file_masks(table.dir / n, subject, texts), retired),
        strict=True) if masks is not None]
    table.purge(stale)
    return removed


def _erase_lake(wh: Any, subject: Subject) -> dict[str, int]:
    removed: dict[str, int] = {}
    with ThreadPoolExecutor(WORKERS) as pool:
        for name, table, is_events in _lake_tables(wh):
            n = _erase_table(table, subject, TEXT_COLUMNS if is_events else (), pool)
            if n:
                removed[name] = n
    return removed


def _rewrite_files(wh: Any, table: LakeTable, where: str, params: dict[str, Any]) -> int:
    """Rewrite (with chDB) every file of ``table`` holding rows matching ``where`` without
    them; a file left empty leaves the manifest. Returns the rows removed (retention)."""
    files = {f.name: f for f in table.files()}
    if not files:
        return 0
    res = wh.client.query(f"SELECT _file, count() FROM {table.sql(list(files.values()))} "
                          f"WHERE {where} GROUP BY _file", parameters=params)
    esc = table.structure.replace("\\", "\\\\").replace("'", "\\'")
    removed = 0
    for name, count in sorted((str(r[0]), int(r[1])) for r in res.result_rows):
        old = files[name]
        new = f"kept-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        rows = old.rows - count
        if rows:
            tmp = table.dir / f".tmp-{new}"
            wh.client.command(
                f"INSERT INTO FUNCTION file('{tmp}', Parquet, '{esc}') "
                f"SELECT * FROM {table.sql([old])} WHERE NOT ({where})",
                parameters=params, settings={"engine_file_truncate_on_insert": 1})
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, table.dir / new)
            fsync_dir(table.dir)
        table.swap([name], [LakeFile(new, rows, old.partition)] if rows else [])
        table.purge([name])
        removed += count
    return removed


# -- ClickHouse --------------------------------------------------------------------------------
def _erase_clickhouse(wh: Warehouse, subject: Subject, cleanup_wait_s: float) -> dict[str, int]:
    client = wh.client
    where, params = condition(subject)
    ids = [str(r[0]) for r in client.query(f"SELECT DISTINCT event_id FROM events WHERE {where}",
                                           parameters=params).result_rows]
    removed: dict[str, int] = {}
    touched: list[str] = []
    if ids:
        for i in range(0, len(ids), ID_CHUNK):
            client.command("ALTER TABLE events DELETE WHERE event_id IN {ids:Array(UUID)}",
                           parameters={"ids": ids[i:i + ID_CHUNK]},
                           settings={"mutations_sync": 2})
        removed["events"] = len(ids)
        touched.append("events")
    tables = [r[0] for r in client.query(
        "SELECT table FROM system.columns WHERE database = currentDatabase() "
        "AND name = 'visitor_id' AND table != 'events'").result_rows]
    if subject.visitor_ids:
        salt = secrets.token_hex(16)
        hashes = [int(r[0]) for r in client.query(
            "SELECT cityHash64(v, {s:String}) FROM (SELECT arrayJoin({v:Array(String)}) AS v)",
            parameters={"s": salt, "v": list(subject.visitor_ids)}).result_rows]
        for t in tables:
            n = int(client.query(f"SELECT count() FROM `{t}` WHERE visitor_id IN {{v:Array(String)}}",
                                 parameters={"v": list(subject.visitor_ids)}).result_rows[0][0])
            if not n:
                continue
            # The salt is in the mutation's text; it is random per erasure and the hashes
            # cannot be turned back into visitor ids without guessing them.
            client.command(f"ALTER TABLE `{t}` DELETE WHERE cityHash64(visitor_id, '{salt}') "
                           "IN {h:Array(UInt64)}", parameters={"h": hashes},
                           settings={"mutations_sync": 2})
            removed[t] = n
            touched.append(t)
    _check(wh, subject, touched, where, params)
    _await_cleanup(wh, touched, cleanup_wait_s)
    return removed


def _check(wh: Warehouse, subject: Subject, tables: list[str], where: str,
           params: dict[str, Any]) -> None:
    """The mutations are done and nothing of the person is left to read."""
    if not tables:
        return
    res = wh.client.query(
        "SELECT table, latest_fail_reason FROM system.mutations WHERE database = "
        "currentDatabase() AND table IN {t:Array(String)} AND is_done = 0",
        parameters={"t": tables})
    if res.result_rows:
        raise WarehouseError(f"erasure mutations not finished: {res.result_rows[:3]}",
                             transient=True)
    left = int(wh.client.query(f"SELECT count() FROM events WHERE {where}",
                               parameters=params).result_rows[0][0])
    if left:
        raise WarehouseError(f"{left} events of the person are still readable after the "
                             "erasure mutation", transient=True)


def _await_cleanup(wh: Warehouse, tables: list[str], wait_s: float) -> None:
    """Wait until the parts the mutations replaced are deleted from disk."""
    if not tables:
        return
    q = ("SELECT count() FROM system.parts WHERE database = currentDatabase() "
         "AND table IN {t:Array(String)} AND active = 0")
    deadline = time.monotonic() + wait_s
    while int(wh.client.query(q, parameters={"t": tables}).result_rows[0][0]):
        for t in tables:  # wakes the cleanup task (it runs every cleanup_delay_period)
            wh.client.command(f"SYSTEM START CLEANUP `{t}`")
        if time.monotonic() > deadline:
            raise WarehouseError(
                f"replaced parts of {tables} are still on disk after {wait_s:.0f} s "
                "(ClickHouse deletes them after old_parts_lifetime); the erasure resumes",
                transient=True)
        time.sleep(0.2)
