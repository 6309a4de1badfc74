"""``GET /metrics`` of the API server: the collector's metrics, the product's counters
(kernel/telemetry.py) and gauges read from stored state when scraped.

Stored-state gauges are computed per scrape, never kept in memory, so any worker answers
the same and they are right after a restart: the webhook outbox and job queue (metadata
DB, across organizations, no org label) and each asset's age (when its warehouse table
was last written). A failing read is reported as ``lodestone_scrape_errors`` rather than
failing the scrape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app_api.errors import error_body
from ingestion import metrics as collector_metrics
from jobs.queue import backlog as job_backlog
from kernel.settings import Settings
from kernel.telemetry import metrics_refusal
from kernel.warehouse import Warehouse
from webhooks.dispatch import backlog as webhook_backlog

log = logging.getLogger(__name__)


class StoredState(Collector):
    """Gauges over the metadata DB and the warehouse, read at scrape time."""

    def __init__(self, sessions: sessionmaker[Session],
                 warehouse: Callable[[], Warehouse]) -> None:
        self.sessions = sessions
        self.warehouse = warehouse

    def collect(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily("lodestone_scrape_errors",
                                   "Stored-state reads that failed during this scrape.",
                                   labels=["source"])
        try:
            yield from self._queues()
        except Exception:
            log.exception("metrics: reading the queues failed")
            errors.add_metric(["metadata"], 1)
        try:
            yield self._freshness()
        except Exception:
            log.exception("metrics: reading the warehouse failed")
            errors.add_metric(["warehouse"], 1)
        yield errors

    def _queues(self) -> Iterator[Metric]:
        with self.sessions() as session:
            events, pending = webhook_backlog(session)
            jobs = job_backlog(session)
        outbox = GaugeMetricFamily("lodestone_webhook_outbox_depth",
                                   "Webhook work waiting: outbox events not yet fanned out "
                                   "(stage=outbox) and deliveries not yet sent "
                                   "(stage=delivery, retries included).", labels=["stage"])
        outbox.add_metric(["outbox"], events)
        outbox.add_metric(["delivery"], pending)
        depth = GaugeMetricFamily("lodestone_jobs_queued", "Durable jobs waiting to run, by kind.",
                                  labels=["kind"])
        age = GaugeMetricFamily("lodestone_jobs_oldest_queued_seconds",
                                "How long the oldest waiting job of each kind has been due.",
                                labels=["kind"])
        for kind, (n, oldest) in sorted(jobs.items()):
            depth.add_metric([kind], n)
            age.add_metric([kind], oldest)
        yield from (outbox, depth, age)

    def _freshness(self) -> Metric:
        with self.warehouse() as wh:
            written = wh.models_written_at()
        now = time.time()
        family = GaugeMetricFamily("lodestone_asset_age_seconds",
                                   "Seconds since each asset's table was last written "
                                   "(its newest materialization).", labels=["asset"])
        for name, at in sorted(written.items()):
            family.add_metric([name], max(0.0, now - at))
        return family


def metrics_endpoint(settings: Settings, registry: CollectorRegistry
                     ) -> Callable[[Request], Response]:
    """The ``/metrics`` handler; ``registry`` holds the scrape-time collectors."""

    def prometheus(request: Request) -> Response:
        why = metrics_refusal(settings.metrics_token, dict(request.scope["headers"]),
                              request.scope.get("client"))
        if why:
            if settings.metrics_token:
                return JSONResponse(error_body("unauthorized", why), 401,
                                    headers={"WWW-Authenticate": "Bearer"})
            return JSONResponse(error_body("forbidden", why), 403)
        body, ctype = collector_metrics.render()
        return Response(body + generate_latest(registry), media_type=ctype)

    return prometheus

