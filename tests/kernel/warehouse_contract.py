"""A backend-neutral exercise of a warehouse; tests run it on every backend and compare."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from typing import Any

from kernel.events import make_row, rows_to_arrow
from kernel.warehouse import Warehouse

BASE_MS = 1_764_000_000_000  # 2025-11-24


def sample_rows(n: int = 2000, seed: int = 7) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        org = "org_a" if i % 3 else "org_b"
        event = rng.choice(["pageview", "magnet_view", "magnet_view", "lead", "purchase"])
        rows.append(make_row(
            event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            org_id=org, site_id="site_1", ts=BASE_MS + rng.randrange(0, 10 * 86_400_000),
            received_at=BASE_MS, event=event, visitor_id=f"v{rng.randrange(300)}",
            magnet_id=rng.choice(["m1", "m2", ""]), variant=rng.choice(["A", "B"]),
            value=round(rng.uniform(5, 100), 2) if event == "purchase" else 0.0,
            props=json.dumps({"i": i}) if i % 10 == 0 else "",
        ))
    return rows


def exercise(wh: Warehouse) -> dict[str, Any]:
    """Migrate twice, insert with a replay, materialize; return comparable facts."""
    first = wh.migrate()
    second = wh.migrate()
    rows = sample_rows()
    table = rows_to_arrow(rows)
    wh.insert_events(table.slice(0, 1200), "segment-1")
    wh.insert_events(table.slice(1200), "segment-2")
    wh.insert_events(table.slice(0, 1200), "segment-1")  # a replay after a crash
    events = wh.query(
        "SELECT toString(event_id) AS id, org_id, toUnixTimestamp64Milli(ts) AS ts, event, "
        "visitor_id, magnet_id, variant, value, props FROM {{ source('events') }} "
        "ORDER BY id"
    )
    digest = hashlib.sha256(json.dumps(events, default=str).encode()).hexdigest()
    model_rows = wh.materialize("daily_magnet_metrics")
    metrics = wh.query(
        "SELECT org_id, toString(day) AS day, magnet_id, variant, visitors, views, leads, "
        "round(revenue, 2) AS revenue FROM {{ ref('daily_magnet_metrics') }} "
        "ORDER BY org_id, day, magnet_id, variant"
    )
    return {
        "first_migration": first,
        "second_migration": second,
        "count": wh.count_events(),
        "count_org_b": wh.count_events("org_b"),
        "digest": digest,
        "model_rows": model_rows,
        "metrics": metrics,
    }
