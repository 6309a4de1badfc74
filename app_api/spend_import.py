"""Ad spend CSV rows into the database in bulk: one statement per batch, not per row.

All or nothing: the route validates every row first and writes only when all are valid,
in one transaction. A spend file is a ledger that ROI divides by: importing the valid
part of a broken file would make ROI silently wrong for the missing days, while fixing
the file and uploading it again is safe (rows replace the rows with the same date,
channel and campaign), so a partial import buys nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.metadata.audit import Actor, record
from kernel.metadata.ids import PREFIXES
from kernel.metadata.models import AdSpend
from kernel.metadata.types import utcnow

BATCH = 5000
PREFIX = PREFIXES["ad_spend"]
T = TypeVar("T")
Key = tuple[dt.date, str, str]


def _batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def upsert_spend(session: Session, org_id: str, rows: Iterable[dict[str, Any]],
                 actor: Actor | None = None) -> tuple[int, int]:
    """Insert or replace (by date, channel, campaign) ``rows``; returns (created, updated).
    With ``actor`` the import is audited (counts only).

    A later row of the file wins over an earlier one with the same key, as before.
    """
    latest: dict[Key, dict[str, Any]] = {}
    for row in rows:
        latest[(row["date"], row["channel"], row["campaign"])] = row
    if not latest:
        return 0, 0
    days = [k[0] for k in latest]
    existing: dict[Key, str] = {}
    stmt = (sa.select(AdSpend.id, AdSpend.date, AdSpend.channel, AdSpend.campaign)
            .where(AdSpend.org_id == org_id, AdSpend.date >= min(days),
                   AdSpend.date <= max(days)))
    for id_, day, channel, campaign in session.execute(stmt):
        existing[(day, channel, campaign)] = id_
    now = utcnow()
    fresh = [row for key, row in latest.items() if key not in existing]
    random = os.urandom(16 * len(fresh)).hex()  # new_id's format, without a uuid4 per row
    new = [{**row, "id": f"{PREFIX}_{random[32 * i:32 * i + 32]}", "org_id": org_id,
            "created_at": now} for i, row in enumerate(fresh)]
    changed = [{"b_id": existing[key], "b_amount": row["amount"], "b_currency": row["currency"]}
               for key, row in latest.items() if key in existing]
    # Core statements on the session's connection: the same transaction, no per-row ORM
    # work (the rows are validated and carry org_id already).
    table: sa.Table = AdSpend.__table__  # type: ignore[assignment]
    conn = session.connection()
    insert = sa.insert(table)
    update = (sa.update(table).where(table.c.id == sa.bindparam("b_id"))
              .values(amount=sa.bindparam("b_amount"), currency=sa.bindparam("b_currency")))
    for batch in _batches(new):
        conn.execute(insert, list(batch))
    for batch in _batches(changed):
        conn.execute(update, list(batch))
    if actor is not None:
        record(session, org_id=org_id, actor=actor, action="ad_spend.imported",
               resource_type="ad_spend", resource_id=None,
               after={"rows": len(latest), "created": len(new), "updated": len(changed)})
    return len(new), len(changed)
