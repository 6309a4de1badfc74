"""Per-arm data of an experiment, read from the warehouse for the promotion decision.

A unit is a visitor with an ``exposure`` event for the experiment (its first exposure fixes
its arm). A conversion on a binomial metric is the metric's event after that exposure that
belongs to the experiment (the ``belongs`` SQL macro, shared with ``experiment_results``);
the ``revenue`` metric is the visitor's purchase value after exposure, from purchases that
belong to it (continuous: sum and sum of squares per arm, so the statistics get revenue per
visitor and its variance).

A **ratio metric** ``<event>_per_session`` or ``revenue_per_session`` has a numerator and a
denominator per unit: the unit is still the exposed visitor (the randomisation unit), the
numerator the metric's events (or purchase value) after exposure that belong to the
experiment, the denominator the visitor's sessions that end at or after the exposure, from
the ``sessions`` model (warehouse_sql/models/sessions.sql: 30 minutes of inactivity or a
new campaign). Per arm: Σy, Σy², Σx, Σx², Σxy, which the statistics turn into
``Σy / Σx`` with its delta-method variance (docs/statistics.md, "Ratio metrics"). Before
the sessions model exists the denominators are 0 and the analysis says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from experiments.guardrails import MetricData
from experiments.stats import VariantData
from kernel.warehouse import Warehouse

REVENUE_METRICS = frozenset({"revenue", "purchase_value"})
#: ``lead_per_session``, ``revenue_per_session``: a ratio metric per session.
RATIO_SUFFIX = "_per_session"


class Reader(Protocol):
    """What the readout needs: the warehouse, or the API's org-scoped one."""

    def query(self, sql: str, parameters: dict[str, Any] | None = None,
              ) -> list[dict[str, Any]]: ...


def ratio_numerator(metric: str) -> str | None:
    """The numerator of a ratio metric (``lead`` of ``lead_per_session``), else None."""
    if metric.endswith(RATIO_SUFFIX) and len(metric) > len(RATIO_SUFFIX):
        return metric[:-len(RATIO_SUFFIX)]
    return None


#: Per arm: exposed visitors (their first exposure fixes the arm), converted visitors, and
#: revenue after exposure. Which events count is the ``belongs`` macro
#: (warehouse_sql/models/macros/experiments.sql), shared with ``experiment_results``.
ARMS_SQL = """
{%- from 'macros/experiments.sql' import exposed_units, metric_events with context %}
WITH exposed AS (
{{ exposed_units() }}
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
{{ metric_events() }}
    ) AS ev ON ev.visitor_id = e.visitor_id
    WHERE ev.ts >= e.exposed_at
    GROUP BY e.visitor_id
) AS a ON a.visitor_id = x.visitor_id
GROUP BY variant
"""


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


#: Per arm of a ratio metric: units, Σy, Σy², Σx, Σx², Σxy (y the numerator per exposed
#: visitor, x its sessions ending at or after the exposure).
RATIO_SQL = """
{%- from 'macros/experiments.sql' import exposed_units, metric_events with context %}
WITH exposed AS (
{{ exposed_units() }}
),
num AS (
    SELECT e.visitor_id AS visitor_id,
           if({revenue:UInt8} = 1, sumIf(ev.value, ev.event = 'purchase'),
              toFloat64(countIf(ev.event = {metric:String}))) AS y
    FROM exposed AS e
    INNER JOIN (
{{ metric_events() }}
    ) AS ev ON ev.visitor_id = e.visitor_id
    WHERE ev.ts >= e.exposed_at
    GROUP BY e.visitor_id
),
den AS (
    SELECT e.visitor_id AS visitor_id, toFloat64(count()) AS x
    FROM exposed AS e
    INNER JOIN (
        SELECT visitor_id, session_start, session_end
        FROM {{ ref('sessions') }}
        WHERE org_id = {org:String} AND session_start <= {until:DateTime64(3, 'UTC')}
    ) AS s ON s.visitor_id = e.visitor_id
    WHERE s.session_end >= e.exposed_at
    GROUP BY e.visitor_id
)
SELECT u.variant AS variant, count() AS users, sum(u.y) AS y_sum, sum(u.y * u.y) AS y_ss,
       sum(u.x) AS x_sum, sum(u.x * u.x) AS x_ss, sum(u.x * u.y) AS xy_sum
FROM (
    SELECT ex.variant AS variant, n.y AS y, d.x AS x
    FROM exposed AS ex
    LEFT JOIN num AS n ON n.visitor_id = ex.visitor_id
    LEFT JOIN den AS d ON d.visitor_id = ex.visitor_id
) AS u
GROUP BY variant
"""


def _ratio(wh: Reader, org_id: str, key: str, magnet_id: str, metric: str,
           variants: Sequence[str], until: dt.datetime, since: dt.datetime) -> MetricData:
    numerator = ratio_numerator(metric) or metric
    arms: dict[str, dict[str, Any]] = {}
    if getattr(wh, "has_model", lambda _: True)("sessions"):
        rows = wh.query(RATIO_SQL, {"org": org_id, "exp": key, "magnet": magnet_id,
                                    "metric": numerator, "until": until, "since": since,
                                    "revenue": int(numerator in REVENUE_METRICS)})
        arms = {r["variant"]: r for r in rows}

    def arm(v: str) -> VariantData:
        r = arms.get(v, {})
        return VariantData(v, int(r.get("users", 0)), sum=float(r.get("y_sum", 0.0)),
                           sum_squares=float(r.get("y_ss", 0.0)),
                           denominator_sum=float(r.get("x_sum", 0.0)),
                           denominator_sum_squares=float(r.get("x_ss", 0.0)),
                           denominator_product=float(r.get("xy_sum", 0.0)))
    return MetricData(metric, [arm(v) for v in variants])


def _arms(wh: Reader, org_id: str, key: str, magnet_id: str, metric: str,
          until: dt.datetime, since: dt.datetime) -> dict[str, dict[str, Any]]:
    rows = wh.query(ARMS_SQL, {"org": org_id, "exp": key, "magnet": magnet_id, "metric": metric,
                               "until": until, "since": since})
    return {r["variant"]: r for r in rows}


def read_metrics(
    wh: Reader | Warehouse,
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
        guardrail_metrics: event names, ``revenue`` for revenue per visitor, or a ratio
            metric per session (``lead_per_session``, ``revenue_per_session``).
        until: read events up to this time (default: now), e.g. to replay past looks.
        magnet_id: the experiment's magnet ('' for none): untagged events on it count.
        since: count only visitors first exposed at or after this time (a holdout after
            promotion: its groups are assigned from then on).
    """
    until, since = until or dt.datetime.now(dt.UTC), since or EPOCH
    # the primary metric is binomial unless it is a ratio (as before ratio metrics)
    plain = [m for m in (primary_metric, *(g for g in guardrail_metrics
                                           if g not in REVENUE_METRICS))
             if not ratio_numerator(m)]
    # revenue per visitor rides on any per-visitor read (every one has the revenue sums)
    if any(m in REVENUE_METRICS for m in guardrail_metrics) and not plain:
        plain = ["purchase"]
    by_metric: dict[str, dict[str, dict[str, Any]]] = {}
    for metric in dict.fromkeys(plain):
        by_metric[metric] = _arms(wh, org_id, experiment_key, magnet_id, metric, until, since)
    base = by_metric[plain[0]] if plain else {}

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

    def read(name: str, guardrail: bool = True) -> MetricData:
        if ratio_numerator(name):
            return _ratio(wh, org_id, experiment_key, magnet_id, name, variants, until, since)
        return revenue(name) if guardrail and name in REVENUE_METRICS else binomial(name)

    return read(primary_metric, guardrail=False), [read(m) for m in guardrail_metrics]
