"""Webhook endpoints: where signed events go; secrets, rotation and a test event."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, field_validator

from app_api.deps import Context, PermTeam
from app_api.errors import APIError
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import In, LongText, Out, Page, PathId, Url
from kernel.metadata.models import WebhookEndpoint
from kernel.metadata.outbox import EVENT_TYPES
from kernel.metadata.types import utcnow
from webhooks import endpoints
from webhooks.ssrf import UnsafeTargetError, check_static

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"])


def _event_types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = [v for v in value if v not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}")
    return sorted(set(value))


def check_url(ctx: Context, url: str | None) -> None:
    """422 unless ``url`` may receive webhooks (the SSRF guard's static checks)."""
    if url is None:
        return
    try:
        check_static(url, allow_private=ctx.settings.webhooks_allow_private)
    except UnsafeTargetError as exc:
        raise APIError(422, "invalid", f"body.url: {exc.reason}",
                       [{"field": "body.url", "message": exc.reason}]) from None


class EndpointIn(In):
    url: Url
    description: LongText = ""
    event_types: list[str] = Field(default_factory=list, max_length=len(EVENT_TYPES),
                                   description="Empty: every event type.")

    _v_types = field_validator("event_types")(_event_types)


class EndpointPatch(In):
    url: Url | None = None
    description: LongText | None = None
    event_types: list[str] | None = Field(None, max_length=len(EVENT_TYPES))
    is_active: bool | None = Field(None, description="true re-enables a disabled endpoint.")

    _v_types = field_validator("event_types")(_event_types)


class EndpointOut(Out):
    id: str
    url: str
    description: str
    event_types: list[str]
    is_active: bool
    disabled_at: dt.datetime | None
    failing_since: dt.datetime | None
    created_at: dt.datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="whsec_… signing secret; also at GET …/secret.")


class SecretOut(BaseModel):
    secret: str
    previous_secret_expires_at: dt.datetime | None = Field(
        None, description="Until then deliveries are also signed with the previous secret.")


class RotateIn(In):
    grace_hours: int = Field(24, ge=0, le=24 * 7,
                             description="How long the old secret keeps signing too.")


def get_endpoint(ctx: Context, endpoint_id: str) -> WebhookEndpoint:
    return ctx.get(WebhookEndpoint, endpoint_id, "webhook endpoint")


@router.get("", response_model=Page[EndpointOut])
def list_endpoints(ctx: PermTeam, is_active: bool | None = None,
                   cursor: str | None = CursorQuery, limit: int = LimitQuery) -> dict[str, object]:
    """Webhook endpoints of your organization."""
    stmt = ctx.db.select(WebhookEndpoint)
    if is_active is not None:
        stmt = stmt.where(WebhookEndpoint.is_active.is_(is_active))
    rows, nxt = paginate(ctx.db, stmt, WebhookEndpoint, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.post("", response_model=EndpointCreated, status_code=201)
def create_endpoint(body: EndpointIn, ctx: PermTeam) -> EndpointCreated:
    """Add an endpoint; the response holds its signing secret."""
    check_url(ctx, body.url)
    endpoint = ctx.create(WebhookEndpoint(**body.model_dump()), "webhook_endpoint")
    return EndpointCreated(**EndpointOut.model_validate(endpoint).model_dump(),
                           secret=endpoint.secret)


@router.get("/{endpoint_id}", response_model=EndpointOut)
def read_endpoint(endpoint_id: PathId, ctx: PermTeam) -> WebhookEndpoint:
    """One endpoint."""
    return get_endpoint(ctx, endpoint_id)


@router.patch("/{endpoint_id}", response_model=EndpointOut)
def update_endpoint(endpoint_id: PathId, body: EndpointPatch,
                    ctx: PermTeam) -> WebhookEndpoint:
    """Change URL, description, event types; is_active=true re-enables a disabled endpoint."""
    endpoint = get_endpoint(ctx, endpoint_id)
    check_url(ctx, body.url)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if body.is_active:
        changes.update(disabled_at=None, failing_since=None)
    elif body.is_active is False and endpoint.disabled_at is None:
        changes["disabled_at"] = utcnow()
    ctx.update(endpoint, "webhook_endpoint", changes)
    return endpoint


@router.delete("/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: PathId, ctx: PermTeam) -> Response:
    """Delete an endpoint and its delivery log."""
    endpoint = get_endpoint(ctx, endpoint_id)
    ctx.delete(endpoint, "webhook_endpoint")
    return Response(status_code=204)


@router.get("/{endpoint_id}/secret", response_model=SecretOut)
def read_endpoint_secret(endpoint_id: PathId, ctx: PermTeam) -> SecretOut:
    """The signing secret (whsec_…) to verify deliveries with."""
    endpoint = get_endpoint(ctx, endpoint_id)
    return SecretOut(secret=endpoint.secret,
                     previous_secret_expires_at=endpoint.previous_secret_expires_at)


@router.post("/{endpoint_id}/rotate-secret", response_model=SecretOut)
def rotate_endpoint_secret(endpoint_id: PathId, ctx: PermTeam,
                           body: RotateIn | None = None) -> SecretOut:
    """New secret; the old one keeps signing (a second signature) for grace_hours."""
    endpoint = get_endpoint(ctx, endpoint_id)
    endpoints.rotate_secret(ctx.db.session, endpoint, ctx.actor,
                            dt.timedelta(hours=body.grace_hours if body else 24))
    ctx.db.commit()
    return SecretOut(secret=endpoint.secret,
                     previous_secret_expires_at=endpoint.previous_secret_expires_at)


@router.post("/{endpoint_id}/test", status_code=202, response_model=dict[str, str])
def send_test_event(endpoint_id: PathId, ctx: PermTeam) -> dict[str, str]:
    """Queue a webhook.test event to this endpoint only; watch its deliveries."""
    delivery = endpoints.send_test(ctx.db.session, get_endpoint(ctx, endpoint_id), ctx.actor)
    ctx.db.commit()
    return {"event_id": delivery.outbox_event_id, "delivery_id": delivery.id}
