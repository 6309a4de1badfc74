"""API-only knobs read from the environment (to be folded into ``kernel.settings.Settings``).

Each is documented in docs/api.md and docs/webhooks.md. Reading them here keeps the API's
limits in one place until the settings object grows the matching fields.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class ApiConfig:
    """Limits of the management API."""

    #: Requests per minute per API key or user; 0 turns the limit off.
    rate_limit_per_minute: int = 1200
    #: Largest JSON request body (bytes); CSV uploads get ``upload_max_bytes``.
    max_body_bytes: int = 1024 * 1024
    upload_max_bytes: int = 10 * 1024 * 1024
    #: Failed logins allowed per (email, IP) in ``login_window_s`` before 429.
    login_max_failures: int = 5
    login_window_s: int = 15 * 60
    #: Lifetime of the session cookie and of a dashboard bearer token (seconds).
    session_ttl_s: int = 12 * 3600
    token_ttl_s: int = 3600
    #: Run the webhook delivery worker inside the API process.
    webhook_worker: bool = True

    @classmethod
    def from_env(cls) -> ApiConfig:
        """Read ``LODESTONE_API_*`` and ``LODESTONE_WEBHOOKS_WORKER`` (defaults above)."""
        d = cls()
        return cls(
            rate_limit_per_minute=_int("LODESTONE_API_RATE_LIMIT_PER_MINUTE",
                                       d.rate_limit_per_minute),
            max_body_bytes=_int("LODESTONE_API_MAX_BODY_BYTES", d.max_body_bytes),
            upload_max_bytes=_int("LODESTONE_API_UPLOAD_MAX_BYTES", d.upload_max_bytes),
            login_max_failures=_int("LODESTONE_API_LOGIN_MAX_FAILURES", d.login_max_failures),
            login_window_s=_int("LODESTONE_API_LOGIN_WINDOW_S", d.login_window_s),
            session_ttl_s=_int("LODESTONE_API_SESSION_TTL_S", d.session_ttl_s),
            token_ttl_s=_int("LODESTONE_API_TOKEN_TTL_S", d.token_ttl_s),
            webhook_worker=_flag("LODESTONE_WEBHOOKS_WORKER", d.webhook_worker),
        )
