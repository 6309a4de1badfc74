"""Cursor pagination over ``(created_at, id)``, newest first.

The cursor is opaque to clients (base64url of the last row's sort key). Because every
query already runs in a tenant-scoped session, a forged cursor can only move within the
caller's own rows.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any, TypeVar

import sqlalchemy as sa
from fastapi import Query

from app_api.errors import APIError
from app_api.tenancy import TenantSession

M = TypeVar("M")

MAX_LIMIT = 200
LimitQuery = Query(50, ge=1, le=MAX_LIMIT, description=f"Page size, 1-{MAX_LIMIT}.")
CursorQuery = Query(None, max_length=200, description="next_cursor of the previous page.")


def encode_cursor(created_at: dt.datetime, id_: str) -> str:
    raw = json.dumps([created_at.isoformat(), id_], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts, id_ = json.loads(raw)
        created = dt.datetime.fromisoformat(ts)
        if created.tzinfo is None or not isinstance(id_, str) or "\x00" in id_:
            raise ValueError(cursor)
        id_.encode("utf-8")  # a lone surrogate (JSON "\ud800") cannot reach the driver
        return created, id_
    except (ValueError, TypeError, UnicodeError, RecursionError):
        raise APIError(400, "bad_request",
                       "invalid cursor; pass next_cursor from the previous page unchanged",
                       details=[{"field": "cursor"}]) from None


def paginate(db: TenantSession, stmt: sa.Select[Any], model: Any, cursor: str | None,
             limit: int) -> tuple[list[Any], str | None]:
    """Run ``stmt`` (already filtered) one page at a time; returns (rows, next_cursor)."""
    if cursor:
        created, id_ = decode_cursor(cursor)
        stmt = stmt.where(sa.tuple_(model.created_at, model.id) < sa.tuple_(
            sa.literal(created, model.created_at.type), sa.literal(id_)))
    stmt = stmt.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)
    rows = list(db.scalars(stmt).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last.created_at, last.id)
    return rows, next_cursor
