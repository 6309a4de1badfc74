"""Outbox fan-out: committed events become one pending delivery per subscribed endpoint."""

from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.metadata.enums import DeliveryStatus
from kernel.metadata.models import OutboxEvent, WebhookDelivery, WebhookEndpoint

#: Delay before each attempt (seconds): attempt 1 at once, then 5 s, 5 min, 30 min, 2 h,
#: 5 h, 10 h, 10 h -- the schedule Svix publishes. Delays get +-10 % jitter.
RETRY_SCHEDULE_S: tuple[int, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.10
#: An endpoint failing without a single success for this long is disabled.
DISABLE_AFTER = dt.timedelta(days=5)


def retry_delay(next_attempt: int, rng: random.Random) -> dt.timedelta | None:
    """Delay before attempt number ``next_attempt`` (1-based), or None when none is left."""
    if next_attempt > len(RETRY_SCHEDULE_S):
        return None
    base = RETRY_SCHEDULE_S[next_attempt - 1]
    return dt.timedelta(seconds=base * (1 + rng.uniform(-JITTER, JITTER)))


def subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    """An endpoint with no event_types receives every event."""
    return not endpoint.event_types or event_type in endpoint.event_types


def dispatch_outbox(session: Session, now: dt.datetime, batch: int = 200) -> int:
    """Fan undispatched outbox events out to deliveries; returns how many events were taken.

    Each event is claimed with a conditional UPDATE (``dispatched_at IS NULL``), so two
    workers never fan out the same event twice. Commits.
    """
    events = session.scalars(
        sa.select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.created_at).limit(batch)).all()
    taken = 0
    for event in events:
        claimed = session.execute(
            sa.update(OutboxEvent)
            .where(OutboxEvent.id == event.id, OutboxEvent.dispatched_at.is_(None))
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        taken += 1
        endpoints = session.scalars(sa.select(WebhookEndpoint).where(
            WebhookEndpoint.org_id == event.org_id, WebhookEndpoint.is_active.is_(True))).all()
        for endpoint in endpoints:
            if subscribed(endpoint, event.event_type):
                session.add(WebhookDelivery(
                    org_id=event.org_id, endpoint_id=endpoint.id, outbox_event_id=event.id,
                    attempt=1, status=DeliveryStatus.PENDING, next_attempt_at=now))
        session.commit()
    session.commit()
    return taken


def next_attempt_number(session: Session, endpoint_id: str, event_id: str) -> int:
    """1 + the highest attempt so far for (endpoint, event)."""
    highest = session.scalar(sa.select(sa.func.max(WebhookDelivery.attempt)).where(
        WebhookDelivery.endpoint_id == endpoint_id,
        WebhookDelivery.outbox_event_id == event_id))
    return int(highest or 0) + 1


def backlog(session: Session) -> tuple[int, int]:
    """Across organizations (for metrics): outbox events not yet fanned out, and deliveries
    waiting to be sent (pending, including retries waiting their back-off)."""
    events = session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)
                            .where(OutboxEvent.dispatched_at.is_(None))) or 0
    pending = session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)
                             .where(WebhookDelivery.status == DeliveryStatus.PENDING)) or 0
    return int(events), int(pending)
