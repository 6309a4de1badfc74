"""Signed, expiring tokens for forms and links (HMAC-SHA256 with ``settings.secret_key``).

A token is ``<base64url(JSON payload)>.<base64url(HMAC)>``; the MAC covers a purpose tag
too, so a download token can never be replayed as a confirm token. The payload carries
its expiry (``x``, seconds since the epoch). Tokens are readable (not encrypted): they
hold ids, never personal data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from kernel.errors import DomainError

PURPOSES = frozenset({"form", "confirm", "download", "unsubscribe", "click", "consent", "open"})


class TokenError(DomainError):
    """The token was altered, is for something else, or cannot be read."""

    code = "invalid_token"


class TokenExpiredError(TokenError):
    """The token was genuine but its lifetime is over."""

    code = "token_expired"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, body: str) -> str:
    key = hashlib.sha256(f"lodestone-publishing:{secret}".encode()).digest()
    return _b64(hmac.new(key, f"{purpose}.{body}".encode(), hashlib.sha256).digest()[:20])


def sign(secret: str, purpose: str, payload: dict[str, Any], ttl_s: float,
         now: float | None = None) -> str:
    """A token for ``purpose`` holding ``payload`` (JSON-safe), valid ``ttl_s`` seconds."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    issued = time.time() if now is None else now
    body = _b64(json.dumps({**payload, "x": int(issued + ttl_s)},
                           separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(secret, purpose, body)}"


def verify(secret: str, purpose: str, token: str, now: float | None = None) -> dict[str, Any]:
    """The payload of a genuine, unexpired ``purpose`` token.

    Raises:
        TokenError: altered, truncated, for another purpose or not a token at all.
        TokenExpiredError: genuine but past its expiry.
    """
    body, _, mac = token.partition(".")
    if not body or not mac or len(token) > 2048:
        raise TokenError("this link or form is incomplete; open it again from the original "
                         "page or mail")
    if not hmac.compare_digest(mac, _mac(secret, purpose, body)):
        raise TokenError("this link or form was altered or is not meant for this page")
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("this link or form cannot be read") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("x"), int):
        raise TokenError("this link or form cannot be read")
    if (time.time() if now is None else now) > payload["x"]:
        raise TokenExpiredError("this link has expired; ask for a new one from the page "
                                "where you signed up")
    return payload
