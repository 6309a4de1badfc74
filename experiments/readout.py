"""Per-arm data of an experiment, read from the warehouse for the promotion decision.

A unit is a visitor with an ``exposure`` event for the experiment (its first exposure fixes
its arm). A conversion on a binomial metric is the metric's event after that exposure that
belongs to the experiment (the ``belongs`` SQL macro, shared with ``experiment_results``);
the ``revenue`` metric is the visitor's purchase value after exposure, from purchases that
belong to it (continuous: sum and sum of squares per arm, so the statistics get revenue per
visitor and its variance).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from experiments.guardrails import MetricData
from experiments.stats import VariantData
from kernel.warehouse import Warehouse

REVENUE_METRICS = frozenset({"revenue", "purchase_value"})

#: Per arm: exposed visitors (their first exposure fixes the arm), converted visitors, and
#: revenue after exposure. Which events count is the ``belongs`` macro
#: (warehouse_sql/models/macros/experiments.sql), shared with ``experiment_results``.
ARMS_SQL = """
{%- from 'macros/experiments.sql' import belongs %}
WITH exposed AS (
    SELECT visitor_id, argMin(variant, ts) AS variant, min(ts) AS exposed_at
    FROM {{ source('events') }}
    WHERE org_id = {org:String} AND experiment_id = {exp:String} AND event = 'exposure'
      AND ts <= {until:DateTime64(3, 'UTC')} AND ts >= {since:DateTime64(3, 'UTC')}
    GROUP BY visitor_id
)
SELECT x.variant AS variant,
       count() AS users,
       sum(a.converted) AS conversions,
       sum(a.revenue) AS revenue_sum,
       sum(a.revenue * a.revenue) AS revenue_sum_squares
FROM exposed AS x
LEFT JOIN (
    SELECT e.visitor_id AS visitor_id,
           toUInt8(countIf(ev.event = {metric:String}) > 0) AS converted,
           sumIf(ev.value, ev.event = 'purchase') AS revenue
    FROM exposed AS e
    INNER JOIN (
        SELECT visitor_id, event, value, ts
        FROM {{ source('events') }}
        WHERE org_id = {org:String} AND event IN ({metric:String}, 'purchase')
          AND ts <= {until:DateTime64(3, 'UTC')}
          AND {{ belongs('{exp:String}', '{magnet:String}') }}
    ) AS ev ON ev.visitor_id = e.visitor_id
    WHERE ev.ts >= e.exposed_at
    GROUP BY e.visitor_id
) AS a ON a.visitor_id = x.visitor_id
GROUP BY variant
"""


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _arms(wh: Warehouse, org_id: str, key: str, magnet_id: str, metric: str,
          until: dt.datetime, since: dt.datetime) -> dict[str, dict[str, Any]]:
    rows = wh.query(ARMS_SQL, {"org": org_id, "exp": key, "magnet": magnet_id, "metric": metric,
                               "until": until, "since": since})
    return {r["variant"]: r for r in rows}


def read_metrics(
    wh: Warehouse,
    org_id: str,
    experiment_key: str,
    variants: Sequence[str],
    primary_metric: str = "lead",
    guardrail_metrics: Sequence[str] = (),
    until: dt.datetime | None = None,
    magnet_id: str = "",
    since: dt.datetime | None = None,
) -> tuple[MetricData, list[MetricData]]:
    """The primary metric and guardrail metrics per arm, arms in ``variants`` order.

    Args:
        variants: arm keys, control first (arms without exposures get zero users).
        primary_metric: an event name (binomial: visitors converting after exposure).
        guardrail_metrics: event names, or ``revenue`` for revenue per visitor.
        until: read events up to this time (default: now), e.g. to replay past looks.
        magnet_id: the experiment's magnet ('' for none): untagged events on it count.
        since: count only visitors first exposed at or after this time (a holdout after
            promotion: its groups are assigned from then on).
    """
    until = until or dt.datetime.now(dt.UTC)
    by_metric: dict[str, dict[str, dict[str, Any]]] = {}
    for metric in {primary_metric, *(m for m in guardrail_metrics if m not in REVENUE_METRICS)}:
        by_metric[metric] = _arms(wh, org_id, experiment_key, magnet_id, metric, until,
                                  since or EPOCH)
    base = by_metric[primary_metric]

    def binomial(metric: str) -> MetricData:
        arms = by_metric[metric]
        return MetricData(metric, [
            VariantData(v, int(arms.get(v, {}).get("users", 0)),
                        conversions=int(arms.get(v, {}).get("conversions", 0)))
            for v in variants
        ])

    def revenue(name: str) -> MetricData:
        return MetricData(name, [
            VariantData(v, int(base.get(v, {}).get("users", 0)),
                        sum=float(base.get(v, {}).get("revenue_sum", 0.0)),
                        sum_squares=float(base.get(v, {}).get("revenue_sum_squares", 0.0)))
            for v in variants
        ])

    guardrails = [revenue(m) if m in REVENUE_METRICS else binomial(m) for m in guardrail_metrics]
    return binomial(primary_metric), guardrails
