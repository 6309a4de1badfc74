"""Column types shared by every model: UTC datetimes and portable JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

#: JSON on SQLite (stored as text), JSONB on PostgreSQL (indexable, compact).
#: Mutating a loaded dict/list in place is not tracked: assign a new value to persist it.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class NaiveDatetimeError(ValueError):
    """A naive datetime was given where an aware one is required."""

    def __init__(self, value: dt.datetime) -> None:
        super().__init__(
            f"naive datetime {value.isoformat()} given; pass a timezone-aware value "
            "(e.g. datetime.now(UTC)) so the stored instant is unambiguous"
        )
        self.value = value


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC that always loads as a timezone-aware UTC datetime.

    PostgreSQL stores ``timestamptz``; SQLite has no timezone support, so the value is
    stored as naive UTC text and re-labelled UTC on the way out. Naive datetimes are
    rejected on the way in rather than guessed at.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(value)
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
