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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kernel.durable import fsync_dir
from kernel.warehouse.base import Warehouse, WarehouseError
from kernel.warehouse.lake import LakeFile, LakeTable, write_parquet_atomic
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


def mask(table: pa.Table, subject: Subject, texts: tuple[str, ...] = TEXT_COLUMNS) -> pa.Array:
    """The rows of ``table`` (Arrow) that are the subject's, by the same rule as the SQL."""
    names = set(table.column_names)
    m = pc.is_in(table["visitor_id"], value_set=pa.array(list(subject.visitor_ids), pa.string()))
    for col in (c for c in texts if c in names):
        lowered = pc.utf8_lower(table[col])  # ignore_case would run a regex: slower
        for needle in subject.needles:
            m = pc.or_(m, pc.match_substring(lowered, needle.lower()))
    if "org_id" in names:
        m = pc.and_(m, pc.equal(table["org_id"], subject.org_id))
    return pc.fill_null(m, False)


def discover_visitors(wh: Any, subject: Subject) -> list[str]:
    """Visitor ids of events that carry the person's email (a form's props, a server event)."""
    if not subject.email:
        return []
    email = Subject(subject.org_id, subject.email)
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


def _scan_files(table: LakeTable, subject: Subject, texts: tuple[str, ...],
                keep: tuple[str, ...] = (), names: list[str] | None = None,
                ) -> list[tuple[str, pa.Array, pa.Table]]:
    """(file, row mask, matching rows of ``keep``) per file with a match; reads only the
    columns the rule needs, two files at a time (Arrow decodes outside the GIL)."""
    files = names if names is not None else [f.name for f in table.files()]

    def one(name: str) -> tuple[str, pa.Array, pa.Table] | None:
        path = table.dir / name
        if not path.exists():
            return None
        schema = pq.read_schema(path)
        cols = [c for c in ("org_id", "visitor_id", *texts) if c in schema.names]
        t = pq.read_table(path, columns=cols)
        m = mask(t, subject, texts)
        if not pc.any(m).as_py():
            return None
        return name, m, t.filter(m).select([c for c in keep if c in cols])

    with ThreadPoolExecutor(2) as pool:
        return [r for r in pool.map(one, files) if r is not None]


def _erase_lake(wh: Any, subject: Subject) -> dict[str, int]:
    removed: dict[str, int] = {}
    for name, table, is_events in _lake_tables(wh):
        texts = TEXT_COLUMNS if is_events else ()
        files = {f.name: f for f in table.files()}
        n = 0
        for fname, m, _rows in _scan_files(table, subject, texts):
            old = files[fname]
            kept = pq.read_table(table.dir / fname).filter(pc.invert(m))
            new = f"erased-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
            if kept.num_rows:
                write_parquet_atomic(kept, table.dir / new)  # temp file, fsync, rename
            table.swap([fname], [LakeFile(new, kept.num_rows, old.partition)]
                       if kept.num_rows else [])
            table.purge([fname])
            n += old.rows - kept.num_rows
        # A crash after a swap and before the purge leaves the old file retired: purge the
        # retired files that still hold the person (an idempotent resume).
        stale = _scan_files(table, subject, texts, names=table.retired())
        table.purge([fname for fname, _m, _r in stale])
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
