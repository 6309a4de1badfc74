"""Prometheus metrics of the collector (multi-process aware via PROMETHEUS_MULTIPROC_DIR).

In multi-process mode every prometheus_client increment is a locked write to a memory-mapped
file (~3 us; a histogram observation ~6 us), a fifth of a pixel request's budget. So request
handlers count into plain per-process tallies (:data:`TALLY`), and the ship loop folds
them into the Prometheus metrics a few times a second.
"""

from __future__ import annotations

import os
from bisect import bisect_left

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
    "lodestone_request_seconds", "Collector request latency until the answer.", ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
)
SPOOL_SEGMENTS = Gauge("lodestone_spool_segments", "Segments waiting to ship.", multiprocess_mode="livemax")
SPOOL_BYTES = Gauge("lodestone_spool_bytes", "Bytes waiting to ship.", multiprocess_mode="livemax")
SHIP_LAG = Gauge("lodestone_shipping_lag_seconds", "Age of the oldest unshipped segment.", multiprocess_mode="livemax")
SHIPPED = Counter("lodestone_events_shipped_total", "Events delivered to the warehouse.")
SHIP_FAILURES = Counter("lodestone_ship_failures_total", "Failed shipping attempts.")
QUARANTINED = Counter("lodestone_segments_quarantined_total", "Segments the warehouse refused for good.")


class LocalHistogram:
    """Bucket counts kept in plain ints, added to a Prometheus histogram on flush."""

    __slots__ = ("target", "bounds", "counts", "total")

    def __init__(self, target: Histogram) -> None:
        self.target = target
        self.bounds: list[float] = list(target._upper_bounds)  # ends with +Inf
        self.counts = [0] * len(self.bounds)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def flush(self) -> None:
        buckets = getattr(self.target, "_buckets", None)
        for i, k in enumerate(self.counts):
            if not k:
                continue
            if buckets is not None and len(buckets) == len(self.counts):
                buckets[i].inc(k)  # what Histogram.observe does, k observations at once
            else:  # pragma: no cover - a prometheus_client without the private fields
                for _ in range(k):
                    self.target.observe(min(self.bounds[i], 1e9))
        sum_value = getattr(self.target, "_sum", None)
        if sum_value is not None and self.total:
            sum_value.inc(self.total)
        self.counts = [0] * len(self.bounds)
        self.total = 0.0


class Tally:
    """Per-process counters for the hot path."""

    def __init__(self) -> None:
        self.accepted: dict[str, int] = {}
        self.rejected: dict[str, int] = {}
        self.latency: dict[str, LocalHistogram] = {}
        self.batch = LocalHistogram(BATCH_SIZE)

    def accept(self, endpoint: str, n: int, seconds: float) -> None:
        self.accepted[endpoint] = self.accepted.get(endpoint, 0) + n
        hist = self.latency.get(endpoint)
        if hist is None:
            hist = self.latency[endpoint] = LocalHistogram(LATENCY.labels(endpoint))
        hist.observe(seconds)

    def reject(self, reason: str, n: int = 1) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + n

    def flush(self) -> None:
        """Fold the tallies into the Prometheus metrics (called by the ship loop)."""
        accepted, self.accepted = self.accepted, {}
        for endpoint, n in accepted.items():
            ACCEPTED.labels(endpoint).inc(n)
        rejected, self.rejected = self.rejected, {}
        for reason, n in rejected.items():
            REJECTED.labels(reason).inc(n)
        for hist in self.latency.values():
            hist.flush()
        self.batch.flush()


TALLY = Tally()


def process_exiting() -> None:
    """Drop this worker's gauges from the multi-process view (its counters stay summed)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        mp.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def render() -> tuple[bytes, str]:
    """The exposition text for /metrics, aggregated over worker processes when configured."""
    TALLY.flush()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
