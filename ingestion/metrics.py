"""Prometheus metrics of the collector (multi-process aware via PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as mp

ACCEPTED = Counter("lodestone_events_accepted_total", "Events acknowledged (on disk).", ["endpoint"])
REJECTED = Counter("lodestone_events_rejected_total", "Events refused, by reason.", ["reason"])
BATCH_SIZE = Histogram(
    "lodestone_batch_events", "Events per request.", buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500)
)
LATENCY = Histogram(
    "lodestone_request_seconds", "Collector request latency.", ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
)
SPOOL_SEGMENTS = Gauge("lodestone_spool_segments", "Segments waiting to ship.", multiprocess_mode="max")
SPOOL_BYTES = Gauge("lodestone_spool_bytes", "Bytes waiting to ship.", multiprocess_mode="max")
SHIP_LAG = Gauge("lodestone_shipping_lag_seconds", "Age of the oldest unshipped segment.", multiprocess_mode="max")
SHIPPED = Counter("lodestone_events_shipped_total", "Events delivered to the warehouse.")
SHIP_FAILURES = Counter("lodestone_ship_failures_total", "Failed shipping attempts.")


def render() -> tuple[bytes, str]:
    """The exposition text for /metrics, aggregated over worker processes when configured."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
