"""Prometheus metrics of the product (the collector's own are in ingestion/metrics.py).

Counters and histograms live where the work happens (API middleware, webhook worker,
promotion sensor, schedules and sensors); every one is multi-process aware through
``PROMETHEUS_MULTIPROC_DIR`` like the collector's, so ``/metrics`` sums API workers and,
under ``lodestone up``, the Dagster daemon. Gauges that describe stored state (queues,
freshness) are read when ``/metrics`` is scraped (``app_api/prometheus.py``). Labels never
carry ids, paths or organization names: route templates, statuses, kinds and asset names.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter, Gauge, Histogram

API_REQUESTS = Counter("lodestone_api_requests_total",
                       "API requests answered, by method, route template and status.",
                       ["method", "route", "status"])
API_LATENCY = Histogram("lodestone_api_request_seconds",
                        "API request duration until the response is sent, by route template.",
                        ["method", "route"],
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
# Every metric has a label, so a process that only imports this module (a Dagster run)
# writes no file into PROMETHEUS_MULTIPROC_DIR.
DB_CHECKED_OUT = Gauge("lodestone_db_pool_checked_out",
                       "Metadata DB connections in use (checked out of the pool).",
                       ["db"], multiprocess_mode="livesum")
DB_CONNECTIONS = Gauge("lodestone_db_pool_connections",
                       "Metadata DB connections open (in use or idle in the pool).",
                       ["db"], multiprocess_mode="livesum")
WEBHOOK_DELIVERIES = Counter("lodestone_webhook_deliveries_total",
                             "Webhook delivery attempts, by outcome (succeeded, failed: will "
                             "retry, gave_up).", ["outcome"])
PROMOTION_DECISIONS = Counter("lodestone_promotion_decisions_total",
                              "Experiments evaluated by the promotion sensor, by decision "
                              "(promoted, not_yet, error).", ["decision"])
AUTOMATION_FAILURES = Counter("lodestone_automation_failures_total",
                              "Failed ticks of a Dagster schedule or sensor (retried on the "
                              "next tick), by kind and name.", ["kind", "name"])


def instrument_pool(engine: sa.Engine) -> None:
    """Keep the pool gauges current from the engine's pool events (exact across workers)."""
    used, opened = DB_CHECKED_OUT.labels("metadata"), DB_CONNECTIONS.labels("metadata")
    sa.event.listen(engine, "checkout", lambda *_: used.inc())
    sa.event.listen(engine, "checkin", lambda *_: used.dec())
    sa.event.listen(engine, "connect", lambda *_: opened.inc())
    sa.event.listen(engine, "close", lambda *_: opened.dec())
    sa.event.listen(engine, "close_detached", lambda *_: opened.dec())


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only accepts local connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def metrics_refusal(token: str, headers: dict[bytes, bytes], client: Any) -> str:
    """Why this scrape of ``/metrics`` is refused ('' = allowed).

    With ``LODESTONE_METRICS_TOKEN`` set, ``Authorization: Bearer <token>`` is required.
    Without one, only loopback clients may scrape (``lodestone serve`` refuses to start in
    production on a non-loopback address without a token).
    """
    if token:
        given = headers.get(b"authorization", b"").decode("latin-1")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return ""
        return "send Authorization: Bearer <LODESTONE_METRICS_TOKEN>"
    host = client[0] if client else ""
    if is_loopback(str(host)):
        return ""
    return "set LODESTONE_METRICS_TOKEN to scrape /metrics from another machine"
