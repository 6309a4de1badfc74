"""The webhook delivery worker.

``deliver_due(session_factory, now)`` does one pass: fan out new outbox events, claim due
deliveries (a lease, so a crashed worker's claims become due again), send them, record the
results and schedule retries. ``BackgroundWorker`` runs it in a thread inside the API
process and is woken right after commits that enqueue events. It ``prune``s finished events older than ``LODESTONE_WEBHOOKS_RETENTION_DAYS`` hourly.
Several workers (API processes, Dagster) may run at once: claims are conditional updates.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from kernel.metadata.audit import Actor, record, snapshot
from kernel.metadata.enums import DeliveryStatus
from kernel.metadata.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from kernel.metadata.types import utcnow
from kernel.telemetry import WEBHOOK_DELIVERIES
from webhooks.dispatch import (
    DISABLE_AFTER,
    dispatch_outbox,
    next_attempt_number,
    retry_delay,
)
from webhooks.sender import AttemptResult, envelope, send

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=60)  # > the 15 s request timeout
POLL_S = 1.0
SENDERS = 4
PRUNE_EVERY_S = 3600.0


@dataclass
class PassResult:
    """What one ``deliver_due`` pass did."""

    dispatched: int = 0
    succeeded: int = 0
    failed: int = 0
    delivery_ids: list[str] = field(default_factory=list)


def _claim(sessions: sessionmaker[Session], now: dt.datetime, batch: int) -> list[str]:
    with sessions() as session:
        due = session.scalars(
            sa.select(WebhookDelivery.id)
            .where(WebhookDelivery.status == DeliveryStatus.PENDING,
                   WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at).limit(batch)).all()
        claimed = []
        for delivery_id in due:
            res = session.execute(
                sa.update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id,
                       WebhookDelivery.status == DeliveryStatus.PENDING,
                       WebhookDelivery.next_attempt_at <= now)
                .values(next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False))
            if res.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(delivery_id)
        session.commit()
        return claimed


def _disable(session: Session, endpoint: WebhookEndpoint, now: dt.datetime, why: str) -> None:
    before = snapshot(endpoint)
    endpoint.is_active = False
    endpoint.disabled_at = now
    session.flush()
    after = {**snapshot(endpoint), "reason": why}
    record(session, org_id=endpoint.org_id, actor=Actor.system("webhooks"),
           action="webhook_endpoint.disabled", resource_type="webhook_endpoint",
           resource_id=endpoint.id, before=before, after=after)


def _record(session: Session, delivery: WebhookDelivery, endpoint: WebhookEndpoint,
            result: AttemptResult, now: dt.datetime, rng: random.Random) -> None:
    delivery.response_status = result.status_code
    delivery.response_body = result.body
    delivery.error = result.error
    delivery.next_attempt_at = None
    if result.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        endpoint.failing_since = None
        return
    endpoint.failing_since = endpoint.failing_since or now
    delay = retry_delay(delivery.attempt + 1, rng)
    if result.gone:
        _disable(session, endpoint, now, "the receiver answered 410 Gone")
    elif now - endpoint.failing_since >= DISABLE_AFTER:
        _disable(session, endpoint, now, f"failing since {endpoint.failing_since.isoformat()}")
    if not endpoint.is_active or delay is None:
        delivery.status = DeliveryStatus.GAVE_UP
        return
    delivery.status = DeliveryStatus.FAILED
    # max+1, not attempt+1: a manual redelivery may already have taken the next number
    number = next_attempt_number(session, delivery.endpoint_id, delivery.outbox_event_id)
    session.add(WebhookDelivery(
        org_id=delivery.org_id, endpoint_id=delivery.endpoint_id,
        outbox_event_id=delivery.outbox_event_id, attempt=number,
        status=DeliveryStatus.PENDING, next_attempt_at=now + delay))


def attempt_delivery(sessions: sessionmaker[Session], delivery_id: str, now: dt.datetime,
                     client: httpx.Client, rng: random.Random,
                     allow_private: bool = False) -> AttemptResult | None:
    """Send one claimed delivery and record the outcome; None if it vanished meanwhile."""
    with sessions() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return None
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        event = session.get(OutboxEvent, delivery.outbox_event_id)
        if endpoint is None or event is None:
            return None
        if not endpoint.is_active:
            delivery.status, delivery.error = DeliveryStatus.GAVE_UP, "endpoint is disabled"
            delivery.next_attempt_at = None
            session.commit()
            WEBHOOK_DELIVERIES.labels(DeliveryStatus.GAVE_UP.value).inc()
            return None
        url, secrets = endpoint.url, endpoint.signing_secrets(utcnow())
        body = envelope(event.id, event.event_type, event.created_at, event.payload)
        session.rollback()  # no transaction (or lock) stays open during the HTTP call
        result = send(client, url, secrets, event.id, body, allow_private=allow_private)
        delivery = session.get(WebhookDelivery, delivery_id)
        endpoint = session.get(WebhookEndpoint, endpoint.id)
        if delivery is None or endpoint is None:
            return result
        _record(session, delivery, endpoint, result, now, rng)
        outcome = str(delivery.status)
        session.commit()
        WEBHOOK_DELIVERIES.labels(outcome).inc()
        return result


def deliver_due(session_factory: sessionmaker[Session], now: dt.datetime | None = None, *,
                client: httpx.Client | None = None, rng: random.Random | None = None,
                batch: int = 100, allow_private: bool = False) -> PassResult:
    """One pass: fan out the outbox, then send every delivery due at ``now``."""
    now = now or utcnow()
    rng = rng or random.Random()
    out = PassResult()
    with session_factory() as session:
        out.dispatched = dispatch_outbox(session, now)
    claimed = _claim(session_factory, now, batch)
    if not claimed:
        return out
    own_client = client is None
    http = client or httpx.Client(trust_env=False)
    try:
        with ThreadPoolExecutor(max_workers=min(SENDERS, len(claimed))) as pool:
            results = list(pool.map(
                lambda d: attempt_delivery(session_factory, d, now, http, rng, allow_private),
                claimed))
    finally:
        if own_client:
            http.close()
    for delivery_id, result in zip(claimed, results, strict=True):
        if result is None:
            continue
        out.delivery_ids.append(delivery_id)
        if result.ok:
            out.succeeded += 1
        else:
            out.failed += 1
    return out


def prune(session_factory: sessionmaker[Session], now: dt.datetime, keep: dt.timedelta,
          batch: int = 5000) -> int:
    """Delete outbox events created before ``now - keep`` whose deliveries have all
    finished, with those deliveries; returns how many events went.

    An event still fanning out (not dispatched) or with a pending delivery stays, whatever
    its age. Across organizations, like the fan-out itself: this is maintenance.
    """
    cutoff = now - keep
    busy = sa.select(WebhookDelivery.outbox_event_id).where(
        WebhookDelivery.status == DeliveryStatus.PENDING)
    total = 0
    while True:
        with session_factory() as session, session.begin():
            ids = list(session.scalars(
                sa.select(OutboxEvent.id)
                .where(OutboxEvent.created_at < cutoff, OutboxEvent.dispatched_at.is_not(None),
                       OutboxEvent.id.not_in(busy))
                .limit(batch)))
            if not ids:
                return total
            session.execute(sa.delete(WebhookDelivery)
                            .where(WebhookDelivery.outbox_event_id.in_(ids)))
            session.execute(sa.delete(OutboxEvent).where(OutboxEvent.id.in_(ids)))
        total += len(ids)


class BackgroundWorker:
    """``deliver_due`` in a daemon thread: every ``poll_s`` and whenever woken; ``prune``
    once an hour when ``retention`` is given."""

    def __init__(self, session_factory: sessionmaker[Session], poll_s: float = POLL_S,
                 retention: dt.timedelta | None = None, allow_private: bool = False) -> None:
        self.sessions = session_factory
        self.allow_private = allow_private
        self.poll_s = poll_s
        self.retention = retention
        self._pruned_at = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="lodestone-webhooks",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        with httpx.Client(trust_env=False) as client:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    deliver_due(self.sessions, client=client, allow_private=self.allow_private)
                    self._maybe_prune()
                except Exception:  # keep the worker alive; the next pass retries
                    log.exception("webhook delivery pass failed")
                self._wake.wait(self.poll_s)

    def _maybe_prune(self) -> None:
        if self.retention is None or time.monotonic() - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = time.monotonic()
        gone = prune(self.sessions, utcnow(), self.retention)
        if gone:
            log.info("pruned %d webhook events older than %s", gone, self.retention)
