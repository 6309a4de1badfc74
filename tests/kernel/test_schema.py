"""The one event schema: the DDL, the Arrow schema and the lake structure agree."""

from __future__ import annotations

import re

from kernel.events import make_row, rows_to_arrow
from kernel.schema import ARROW_SCHEMA, COLUMN_NAMES, EVENT_COLUMNS, ch_structure
from warehouse_sql import MIGRATIONS_DIR


def _ddl_columns() -> list[tuple[str, str]]:
    ddl = (MIGRATIONS_DIR / "0001_events.sql").read_text()
    body = ddl[ddl.index("(\n") + 2 : ddl.index("\n)\nENGINE")]
    cols = []
    for line in body.strip().splitlines():
        m = re.match(r"\s*(\w+) (.+?),?$", line)
        assert m, line
        cols.append((m.group(1), m.group(2)))
    return cols


def test_ddl_matches_schema() -> None:
    assert _ddl_columns() == [(c.name, c.ch_type) for c in EVENT_COLUMNS]


def test_every_event_carries_org_id_and_required_fields() -> None:
    required = {
        "event_id",
        "org_id",
        "ts",
        "received_at",
        "event",
        "visitor_id",
        "session_id",
        "magnet_id",
        "experiment_id",
        "variant",
        "url",
        "referrer",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "device",
        "browser",
        "os",
        "country",
        "value",
        "props",
    }
    assert required <= set(COLUMN_NAMES)


def test_rows_to_arrow_round_trip() -> None:
    rows = [make_row(org_id="o", event="lead", ts=1_700_000_000_000, value=2.5) for _ in range(3)]
    table = rows_to_arrow(rows)
    assert table.schema == ARROW_SCHEMA
    assert table.num_rows == 3
    assert table.column("value").to_pylist() == [2.5, 2.5, 2.5]
    assert ch_structure().startswith("event_id UUID, org_id LowCardinality(String)")
