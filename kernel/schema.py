"""The one event schema: collector input, warehouse DDL, lake Parquet and pipelines share it.

Every event carries ``org_id``. Strings are never NULL in the warehouse (empty string instead),
so the same SQL works on a ClickHouse server and on the Parquet lake.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pyarrow as pa


class EventType(StrEnum):
    pageview = "pageview"
    magnet_view = "magnet_view"
    exposure = "exposure"
    form_start = "form_start"
    lead = "lead"
    confirmed = "confirmed"
    download = "download"
    click = "click"
    email_open = "email_open"
    purchase = "purchase"
    custom = "custom"


EVENT_TYPES: frozenset[str] = frozenset(e.value for e in EventType)

# Bits of the ``flags`` column.
FLAG_TS_CLAMPED = 1  # the client timestamp was far from received_at and was clamped
FLAG_SERVER_SIDE = 2  # sent with an API key through /v1/events
FLAG_SIMULATED = 4  # written by `lodestone simulate`


@dataclass(frozen=True)
class Column:
    name: str
    ch_type: str  # ClickHouse type, as in warehouse_sql/migrations
    arrow_type: pa.DataType
    doc: str
    max_len: int = 0  # bound enforced by the collector for strings (0 = not a string)


_S = pa.string()
_TS = pa.timestamp("ms", tz="UTC")

EVENT_COLUMNS: tuple[Column, ...] = (
    Column("event_id", "UUID", pa.uuid(), "Unique id; inserts are idempotent on it."),
    Column("org_id", "LowCardinality(String)", _S, "Owning organization.", 64),
    Column("site_id", "LowCardinality(String)", _S, "Site whose key sent the event.", 64),
    Column("ts", "DateTime64(3, 'UTC')", _TS, "Client time (clamped when implausible)."),
    Column("received_at", "DateTime64(3, 'UTC')", _TS, "Collector time."),
    Column("event", "LowCardinality(String)", _S, "One of EventType.", 32),
    Column("visitor_id", "String", _S, "First-party id or cookieless daily hash.", 64),
    Column("session_id", "String", _S, "Client session id (pipelines re-sessionise).", 64),
    Column("magnet_id", "String", _S, "Lead magnet the event concerns.", 64),
    Column("experiment_id", "String", _S, "Experiment key for exposures/conversions.", 64),
    Column("variant", "String", _S, "Variant key served to the visitor.", 64),
    Column("url", "String", _S, "Page URL.", 2048),
    Column("referrer", "String", _S, "Referrer URL.", 2048),
    Column("utm_source", "String", _S, "UTM source.", 256),
    Column("utm_medium", "String", _S, "UTM medium.", 256),
    Column("utm_campaign", "String", _S, "UTM campaign.", 256),
    Column("utm_term", "String", _S, "UTM term.", 256),
    Column("utm_content", "String", _S, "UTM content.", 256),
    Column("channel", "LowCardinality(String)", _S, "Channel derived from referrer + UTM.", 32),
    Column("device", "LowCardinality(String)", _S, "desktop | mobile | tablet | other.", 32),
    Column("browser", "LowCardinality(String)", _S, "Browser family.", 64),
    Column("os", "LowCardinality(String)", _S, "Operating system family.", 64),
    Column("country", "LowCardinality(String)", _S, "ISO country code, if known.", 2),
    Column("value", "Float64", pa.float64(), "Revenue or metric value."),
    Column("props", "String", _S, "Free-form JSON object.", 8192),
    Column("flags", "UInt16", pa.uint16(), "Bit flags (FLAG_*)."),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS)
STRING_COLUMNS: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS if c.arrow_type == _S)
ARROW_SCHEMA: pa.Schema = pa.schema(
    [pa.field(c.name, c.arrow_type, nullable=False) for c in EVENT_COLUMNS]
)


def ch_structure(columns: tuple[Column, ...] = EVENT_COLUMNS) -> str:
    """ClickHouse structure string ``name Type, ...`` (for ``file(..., structure)``)."""
    return ", ".join(f"{c.name} {c.ch_type}" for c in columns)
