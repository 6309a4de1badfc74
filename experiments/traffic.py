"""A site's recent traffic and conversion rate, read from the warehouse for the planner.

A visitor is a ``visitor_id`` with any event on the site in the window; the base rate is
the share of those visitors with at least one event of the primary metric. New visitors
per day (unique visitors over the window / days) is the rate at which an experiment on
the site would enrol units, since a returning visitor keeps the arm of its first
exposure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

TRAFFIC_SQL = """
SELECT uniqExact(visitor_id) AS visitors,
       uniqExactIf(visitor_id, event = {metric:String}) AS converters
FROM {{ source('events') }}
WHERE org_id = {org:String} AND site_id = {site:String} AND visitor_id != ''
  AND ts >= {since:DateTime64(3, 'UTC')} AND ts < {until:DateTime64(3, 'UTC')}
"""


class Queryable(Protocol):
    """A warehouse (``Warehouse`` or the API's org-scoped ``ScopedWarehouse``)."""

    def query(self, sql: str, parameters: dict[str, Any] | None = None,
              ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Traffic:
    """Visitors per day and the primary metric's conversion rate over a recent window.

    ``error`` says why the figures cannot plan an experiment (no traffic, no conversions);
    the numbers are then None.
    """

    site_id: str
    metric: str
    days: int
    since: dt.datetime
    until: dt.datetime
    visitors: int
    converters: int
    users_per_day: float | None
    base_rate: float | None
    error: str | None = None


def read_traffic(wh: Queryable, org_id: str, site_id: str, metric: str = "lead",
                 days: int = 28, until: dt.datetime | None = None) -> Traffic:
    """The site's traffic over the ``days`` days before ``until`` (default: now)."""
    until = until or dt.datetime.now(dt.UTC)
    since = until - dt.timedelta(days=days)
    rows = wh.query(TRAFFIC_SQL, {"org": org_id, "site": site_id, "metric": metric,
                                  "since": since, "until": until})
    visitors = int(rows[0]["visitors"]) if rows else 0
    converters = int(rows[0]["converters"]) if rows else 0

    def traffic(users_per_day: float | None, base_rate: float | None,
                error: str | None = None) -> Traffic:
        return Traffic(site_id, metric, days, since, until, visitors, converters,
                       users_per_day, base_rate, error)

    if visitors == 0:
        return traffic(None, None, f"site {site_id!r} has no visitors in the last {days} "
                                   "days; an experiment cannot be planned without traffic")
    if converters == 0 or converters == visitors:
        which = "no" if converters == 0 else "every"
        return traffic(None, None, f"{which} visitor of site {site_id!r} had a {metric!r} "
                                   f"event in the last {days} days; choose another metric or "
                                   "a longer window")
    return traffic(visitors / days, converters / visitors)
