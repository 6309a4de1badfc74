"""Signed session tokens for people: the session cookie and short-lived bearer tokens.

A token is ``lst_<base64url(json claims)>.<base64url(HMAC-SHA256)>`` keyed with a key
derived from ``LODESTONE_SECRET_KEY``. Claims carry the user, organization, expiry, the
CSRF token bound to a cookie session, and a fingerprint of the password hash, so changing
a password ends every existing session. Nothing is stored server-side; the user row is
loaded on each request, so deactivation and role changes apply at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Literal

TOKEN_PREFIX = "lst_"
SESSION_COOKIE = "lodestone_session"
CSRF_COOKIE = "lodestone_csrf"
CSRF_HEADER = "x-csrf-token"

Kind = Literal["cookie", "bearer"]


@dataclass(frozen=True)
class SessionClaims:
    user_id: str
    org_id: str
    kind: Kind
    issued_at: int
    expires_at: int
    csrf: str
    pwd: str


def _key(secret_key: str, purpose: str) -> bytes:
    return hmac.new(secret_key.encode(), f"lodestone/{purpose}".encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def password_fingerprint(secret_key: str, password_hash: str | None) -> str:
    """Short keyed digest of the password hash: changes when the password changes."""
    return hmac.new(_key(secret_key, "pwd"), (password_hash or "").encode(),
                    hashlib.sha256).hexdigest()[:16]


def issue(secret_key: str, *, user_id: str, org_id: str, password_hash: str | None, kind: Kind,
          ttl_s: int, now: int) -> tuple[str, SessionClaims]:
    """Create a token; returns (token, claims)."""
    claims = SessionClaims(user_id, org_id, kind, now, now + ttl_s, secrets.token_urlsafe(24),
                           password_fingerprint(secret_key, password_hash))
    body = _b64(json.dumps(claims.__dict__, separators=(",", ":")).encode())
    sig = _b64(hmac.new(_key(secret_key, "session"), body.encode(), hashlib.sha256).digest())
    return f"{TOKEN_PREFIX}{body}.{sig}", claims


def verify(secret_key: str, token: str, now: int) -> SessionClaims | None:
    """The claims of a valid, unexpired token, else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 2048:
        return None
    body, _, sig = token[len(TOKEN_PREFIX):].partition(".")
    if not body or not sig:
        return None
    expected = _b64(hmac.new(_key(secret_key, "session"), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, sig):
        return None
    try:
        raw = json.loads(_unb64(body))
        claims = SessionClaims(**raw)
    except (ValueError, TypeError):
        return None
    if claims.expires_at <= now:
        return None
    return claims
