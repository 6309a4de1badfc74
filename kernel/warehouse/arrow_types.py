"""ClickHouse column types for Arrow schemas (tables computed in Python, stored in the warehouse)."""

from __future__ import annotations

import re

import pyarrow as pa

from kernel.warehouse.base import WarehouseError

_SIMPLE: dict[pa.DataType, str] = {
    pa.string(): "String",
    pa.large_string(): "String",
    pa.string_view(): "String",
    pa.bool_(): "Bool",
    pa.int8(): "Int8",
    pa.int16(): "Int16",
    pa.int32(): "Int32",
    pa.int64(): "Int64",
    pa.uint8(): "UInt8",
    pa.uint16(): "UInt16",
    pa.uint32(): "UInt32",
    pa.uint64(): "UInt64",
    pa.float32(): "Float32",
    pa.float64(): "Float64",
    pa.date32(): "Date",
}
PARTITION_VALUE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def ch_type(dtype: pa.DataType) -> str:
    """The ClickHouse type that reads ``dtype`` back unchanged from Parquet."""
    if dtype in _SIMPLE:
        return _SIMPLE[dtype]
    if pa.types.is_timestamp(dtype):
        precision = {"s": 0, "ms": 3, "us": 6, "ns": 9}[dtype.unit]
        return f"DateTime64({precision}, 'UTC')"
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return f"Array({ch_type(dtype.value_type)})"
    raise WarehouseError(f"no ClickHouse type for Arrow type {dtype}; cast the column first")


def ch_columns(schema: pa.Schema, required: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """``(name, type)`` per field; nullable fields become ``Nullable(T)`` (not arrays), except
    ``required`` ones (keys: ClickHouse refuses nullable partition and sort keys)."""
    out = []
    for field in schema:
        t = ch_type(field.type)
        if field.nullable and field.name not in required and not t.startswith("Array("):
            t = f"Nullable({t})"
        out.append((field.name, t))
    return out


def structure(columns: list[tuple[str, str]]) -> str:
    """``name Type, ...`` for ``file(..., structure)`` and ``CREATE TABLE``."""
    return ", ".join(f"`{c}` {t}" for c, t in columns)


def check_partitions(partitions: list[str]) -> list[str]:
    """Partition values are spliced into DDL (``REPLACE PARTITION '...'``): allow plain ids only."""
    for p in partitions:
        if not PARTITION_VALUE.match(p):
            raise WarehouseError(f"invalid partition value {p!r}: use letters, digits, '-', '_', '.', ':'")
    return partitions
