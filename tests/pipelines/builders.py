"""Small hand-made event streams for the SQL model tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kernel.events import Row, make_row, rows_to_arrow
from kernel.warehouse import Warehouse

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
SITE = "https://site.example"
LOOKS: dict[str, dict[str, str]] = {
    "direct": {},
    "search": {"referrer": "https://www.google.com/"},
    "paid": {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand"},
    "social": {"utm_source": "linkedin", "utm_medium": "social", "utm_campaign": "launch"},
    "email": {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "weekly"},
    "referral": {"referrer": "https://blog.partner.example/post"},
    "internal": {"referrer": f"{SITE}/"},
}


def at(minutes: float = 0, days: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, minutes=minutes)


def event(visitor: str, when: dt.datetime, event: str = "pageview", look: str = "direct",
          org: str = "org_a", **fields: Any) -> Row:
    """One event; ``look`` sets the referrer / UTM tags of a traffic source."""
    return make_row(org_id=org, site_id="site_1", visitor_id=visitor, event=event,
                    ts=int(when.timestamp() * 1000), received_at=int(when.timestamp() * 1000),
                    url=fields.pop("url", f"{SITE}/"), **LOOKS[look], **fields)


def load(wh: Warehouse, rows: list[Row], token: str = "t1") -> None:
    wh.migrate()
    wh.insert_events(rows_to_arrow(sorted(rows, key=lambda r: r[3])), token)
