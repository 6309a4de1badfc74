"""Operations on a webhook endpoint beyond plain edits: rotate its secret, send it a test
event, redeliver an attempt. Each writes its audit entry in the caller's session (the caller
commits), so the API, the CLI and jobs share one implementation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from kernel.errors import ConflictError
from kernel.metadata.audit import Actor, record
from kernel.metadata.enums import DeliveryStatus
from kernel.metadata.models import WebhookDelivery, WebhookEndpoint
from kernel.metadata.outbox import enqueue
from kernel.metadata.types import utcnow
from webhooks.dispatch import next_attempt_number


def _audit(session: Session, endpoint: WebhookEndpoint, actor: Actor, action: str,
           resource_type: str, resource_id: str, after: dict[str, object]) -> None:
    record(session, org_id=endpoint.org_id, actor=actor, action=action,
           resource_type=resource_type, resource_id=resource_id, after=after)


def _require_active(endpoint: WebhookEndpoint) -> None:
    if endpoint is None or not endpoint.is_active:
        raise ConflictError("the endpoint is disabled; re-enable it with PATCH "
                            f"/v1/webhook-endpoints/{endpoint.id} is_active=true first")


def rotate_secret(session: Session, endpoint: WebhookEndpoint, actor: Actor,
                  grace: dt.timedelta) -> None:
    """A new signing secret; the old one keeps signing (a second signature) for ``grace``."""
    endpoint.rotate_secret(utcnow(), grace)
    session.flush()
    _audit(session, endpoint, actor, "webhook_endpoint.secret_rotated", "webhook_endpoint",
           endpoint.id, {"previous_secret_expires_at": endpoint.previous_secret_expires_at})


def send_test(session: Session, endpoint: WebhookEndpoint, actor: Actor) -> WebhookDelivery:
    """Queue a ``webhook.test`` event to this endpoint only (not fanned out)."""
    _require_active(endpoint)
    event = enqueue(session, endpoint.org_id, "webhook.test",
                    {"endpoint_id": endpoint.id, "message": "Hello from Lodestone"})
    now = utcnow()
    event.dispatched_at = now
    delivery = WebhookDelivery(org_id=endpoint.org_id, endpoint_id=endpoint.id,
                               outbox_event_id=event.id, attempt=1,
                               status=DeliveryStatus.PENDING, next_attempt_at=now)
    session.add(delivery)
    session.flush()
    _audit(session, endpoint, actor, "webhook_endpoint.tested", "webhook_endpoint",
           endpoint.id, {"event_id": event.id, "delivery_id": delivery.id})
    return delivery


def redeliver(session: Session, original: WebhookDelivery, endpoint: WebhookEndpoint,
              actor: Actor) -> WebhookDelivery:
    """The same event (same webhook-id) to the same endpoint again, due now."""
    _require_active(endpoint)
    attempt = next_attempt_number(session, original.endpoint_id, original.outbox_event_id)
    delivery = WebhookDelivery(org_id=original.org_id, endpoint_id=original.endpoint_id,
                               outbox_event_id=original.outbox_event_id, attempt=attempt,
                               status=DeliveryStatus.PENDING, next_attempt_at=utcnow())
    session.add(delivery)
    session.flush()
    _audit(session, endpoint, actor, "webhook_delivery.redelivered", "webhook_delivery",
           delivery.id, {"of": original.id, "attempt": attempt,
                         "event_id": original.outbox_event_id})
    return delivery
