"""Credentials stored in the metadata DB: API keys, site keys, webhook signing secrets.

API keys look like ``ls_live_ab12cd34_<64 hex>``. The first 16 characters are the
*prefix*: visible in the UI, unique, and used to find the row. Only the SHA-256 of the
secret part is stored. A fast hash is right here, unlike for passwords: the secret is 256
random bits, so there is nothing for a slow hash (argon2/bcrypt) to protect against — a
brute force over 2**256 values is infeasible at any hash speed — while every API request
pays for verifying it. Passwords (low entropy, chosen by people) use argon2 instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

API_KEY_PREFIX_LENGTH = 16  # "ls_live_" + 8 hex digits


@dataclass(frozen=True)
class NewApiKey:
    """A freshly generated API key; ``token`` is shown to the user once, never stored."""

    prefix: str
    secret_hash: str
    token: str


def hash_api_secret(secret: str) -> str:
    """Return the SHA-256 hex digest stored in ``ApiKey.secret_hash``."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def generate_api_key(mode: Literal["live", "test"] = "live") -> NewApiKey:
    """Create an API key: a unique visible prefix plus a 256-bit secret."""
    prefix = f"ls_{mode}_{secrets.token_hex(4)}"
    secret = secrets.token_hex(32)
    return NewApiKey(prefix=prefix, secret_hash=hash_api_secret(secret), token=f"{prefix}_{secret}")


def split_api_key(token: str) -> tuple[str, str] | None:
    """Split a presented token into ``(prefix, secret)``, or None if it is malformed."""
    prefix, sep, secret = token.rpartition("_")
    if (
        not sep
        or len(prefix) != API_KEY_PREFIX_LENGTH
        or not prefix.startswith("ls_")
        or not secret
    ):
        return None
    return prefix, secret


def verify_api_secret(secret: str, secret_hash: str) -> bool:
    """Compare a presented secret with the stored hash in constant time."""
    return hmac.compare_digest(hash_api_secret(secret), secret_hash)


def new_site_key() -> str:
    """Return a public site key (``pub_<24 hex>``) for the tracking snippet and pixel."""
    return f"pub_{secrets.token_hex(12)}"


def new_webhook_secret() -> str:
    """Return a webhook signing secret ``whsec_<base64 of 32 random bytes>``."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
