"""Who is calling: resolve an API key, a bearer session token or a session cookie."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import Request
from sqlalchemy.orm import Session

from app_api.auth import sessions
from app_api.errors import APIError
from kernel.credentials import presented_token
from kernel.metadata.enums import ActorType
from kernel.metadata.models import ApiKey, User
from kernel.metadata.tokens import split_api_key, verify_api_secret
from kernel.metadata.types import utcnow
from kernel.permissions import permissions_for_role

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KEY_TOUCH_INTERVAL_S = 60.0


@dataclass(frozen=True)
class Principal:
    """Who is calling, for which organization, with which permissions."""

    org_id: str
    actor: str
    actor_type: str
    scopes: frozenset[str]
    via: str = "api_key"  # api_key | bearer | cookie
    role: str | None = None


def _unauthorized(message: str) -> APIError:
    return APIError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def _from_api_key(token: str, session: Session, touch: dict[str, float]) -> Principal:
    parts = split_api_key(token)
    if parts is None:
        raise _unauthorized("malformed API key; keys look like ls_live_xxxxxxxx_<64 hex>")
    prefix, secret = parts
    key = session.scalar(sa.select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not verify_api_secret(secret, key.secret_hash):
        raise _unauthorized("unknown or revoked API key; check it or create a new one")
    if key.revoked_at is not None:
        raise _unauthorized(f"unknown or revoked API key: {key.prefix} was revoked; "
                            "create a new one")
    now = time.monotonic()
    if now - touch.get(key.id, -KEY_TOUCH_INTERVAL_S) >= KEY_TOUCH_INTERVAL_S:
        touch[key.id] = now  # last_used_at is kept to the minute: one write per key a minute
        session.execute(sa.update(ApiKey).where(ApiKey.id == key.id)
                        .values(last_used_at=utcnow()))
        session.commit()
    return Principal(key.org_id, key.id, ActorType.API_KEY.value, frozenset(key.scopes or ()))


def _from_session(token: str, kind: str, request: Request, session: Session,
                  secret_key: str) -> Principal:
    claims = sessions.verify(secret_key, token, int(time.time()))
    if claims is None or claims.kind != kind:
        raise _unauthorized("session expired or invalid; sign in again at POST /v1/auth/login")
    user = session.get(User, claims.user_id)
    if (user is None or not user.is_active or user.org_id != claims.org_id
            or sessions.password_fingerprint(secret_key, user.password_hash) != claims.pwd):
        raise _unauthorized("session is no longer valid; sign in again at POST /v1/auth/login")
    if kind == "cookie" and request.method not in SAFE_METHODS:
        sent = request.headers.get(sessions.CSRF_HEADER, "")
        cookie = request.cookies.get(sessions.CSRF_COOKIE, "")
        if not sent or not hmac.compare_digest(sent, claims.csrf) or sent != cookie:
            raise APIError(
                403, "csrf_failed",
                f"send the value of the {sessions.CSRF_COOKIE} cookie in the "
                f"X-CSRF-Token header with every {request.method} made with a session cookie",
            )
    return Principal(user.org_id, user.id, ActorType.USER.value,
                     permissions_for_role(user.role), via=kind if kind == "cookie" else "bearer",
                     role=str(user.role.value if hasattr(user.role, "value") else user.role))


def resolve(request: Request, session: Session, secret_key: str,
            touch: dict[str, float]) -> Principal:
    """The caller, from ``Authorization: Bearer``, ``X-API-Key`` or the session cookie."""
    token = presented_token(request.headers.get("authorization", ""),
                            request.headers.get("x-api-key", ""))
    if token.startswith(sessions.TOKEN_PREFIX):
        return _from_session(token, "bearer", request, session, secret_key)
    if token:
        return _from_api_key(token, session, touch)
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
    if cookie:
        return _from_session(cookie, "cookie", request, session, secret_key)
    raise _unauthorized(
        "authentication required: send an API key as 'Authorization: Bearer <key>' "
        "or sign in with POST /v1/auth/login"
    )
