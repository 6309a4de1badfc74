"""The webhook delivery log (one row per attempt) and manual redelivery."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from app_api.deps import Context, PermTeam
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import ID_PATTERN, Out, Page, PathId
from kernel.metadata.enums import DeliveryStatus
from kernel.metadata.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from webhooks import endpoints

router = APIRouter(prefix="/v1/webhook-deliveries", tags=["webhooks"])


class DeliveryOut(Out):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    attempt: int
    status: DeliveryStatus
    response_status: int | None
    response_body: str | None
    error: str | None
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime


def _out(d: WebhookDelivery, event_types: dict[str, str]) -> DeliveryOut:
    return DeliveryOut(
        id=d.id, endpoint_id=d.endpoint_id, event_id=d.outbox_event_id,
        event_type=event_types.get(d.outbox_event_id, ""), attempt=d.attempt, status=d.status,
        response_status=d.response_status, response_body=d.response_body, error=d.error,
        next_attempt_at=d.next_attempt_at, created_at=d.created_at)


def _types(ctx: Context, deliveries: list[WebhookDelivery]) -> dict[str, str]:
    ids = {d.outbox_event_id for d in deliveries}
    if not ids:
        return {}
    rows = ctx.db.execute(ctx.db.select(OutboxEvent).where(OutboxEvent.id.in_(ids)))
    return {e.id: e.event_type for (e,) in rows}


def _get(ctx: Context, delivery_id: str) -> WebhookDelivery:
    return ctx.get(WebhookDelivery, delivery_id, "webhook delivery")


@router.get("", response_model=Page[DeliveryOut])
def list_deliveries(
    ctx: PermTeam,
    endpoint_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    event_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    status: DeliveryStatus | None = None,
    cursor: str | None = CursorQuery,
    limit: int = LimitQuery,
) -> dict[str, object]:
    """Delivery attempts, newest first; filter by endpoint, event or status."""
    stmt = ctx.db.select(WebhookDelivery)
    if endpoint_id:
        stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
    if event_id:
        stmt = stmt.where(WebhookDelivery.outbox_event_id == event_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    rows, nxt = paginate(ctx.db, stmt, WebhookDelivery, cursor, limit)
    types = _types(ctx, rows)
    return {"data": [_out(d, types) for d in rows], "next_cursor": nxt}


@router.get("/{delivery_id}", response_model=DeliveryOut)
def read_delivery(delivery_id: PathId, ctx: PermTeam) -> DeliveryOut:
    """One delivery attempt with the receiver's status and (truncated) response."""
    delivery = _get(ctx, delivery_id)
    return _out(delivery, _types(ctx, [delivery]))


@router.post("/{delivery_id}/redeliver", response_model=DeliveryOut, status_code=202)
def redeliver(delivery_id: PathId, ctx: PermTeam) -> DeliveryOut:
    """Send the same event (same webhook-id) to the same endpoint again, now."""
    original = _get(ctx, delivery_id)
    endpoint = ctx.get(WebhookEndpoint, original.endpoint_id, "webhook endpoint")
    delivery = endpoints.redeliver(ctx.db.session, original, endpoint, ctx.actor)
    ctx.db.commit()
    ctx.wake_webhooks()
    return _out(delivery, _types(ctx, [delivery]))
