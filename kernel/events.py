"""Event rows in column order (the spool's and the shipper's currency) and their Arrow form."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from kernel.schema import ARROW_SCHEMA, COLUMN_NAMES, EVENT_COLUMNS

# A row is a tuple in COLUMN_NAMES order: event_id as 16 raw bytes, ts/received_at as int
# milliseconds since the epoch (UTC), strings as str, value float, flags int.
Row = tuple[Any, ...]
INDEX = {name: i for i, name in enumerate(COLUMN_NAMES)}
_DEFAULTS: tuple[Any, ...] = tuple(
    0.0 if c.name == "value" else 0 if c.name in ("flags", "ts", "received_at") else ""
    for c in EVENT_COLUMNS
)


def make_row(**fields: Any) -> Row:
    """Build a row from keyword fields; missing fields get their defaults."""
    values = list(_DEFAULTS)
    for key, value in fields.items():
        values[INDEX[key]] = value
    if not values[0]:
        values[0] = uuid.uuid4().bytes
    elif isinstance(values[0], str):
        values[0] = uuid.UUID(values[0]).bytes
    elif isinstance(values[0], uuid.UUID):
        values[0] = values[0].bytes
    return tuple(values)


def rows_to_arrow(rows: Sequence[Row] | Iterable[Row]) -> pa.Table:
    """Column-wise conversion of rows to a table with :data:`ARROW_SCHEMA`."""
    rows = list(rows)
    if not rows:
        return ARROW_SCHEMA.empty_table()
    columns = list(zip(*rows, strict=True))
    arrays = []
    for field, values in zip(ARROW_SCHEMA, columns, strict=True):
        if field.name == "event_id":
            storage = pa.array(values, pa.binary(16))
            arrays.append(pa.ExtensionArray.from_storage(pa.uuid(), storage))
        elif pa.types.is_timestamp(field.type):
            arrays.append(pa.array(values, pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)
