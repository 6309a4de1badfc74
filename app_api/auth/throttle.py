"""Login throttling per (email, client IP): N failures in a window answer 429."""

from __future__ import annotations

import hashlib

from app_api.errors import APIError
from app_api.ratelimit import Counter, retry_after


class LoginThrottle:
    """Counts failed logins; ``check`` refuses before the password is even verified."""

    def __init__(self, counter: Counter, max_failures: int, window_s: int) -> None:
        self.counter, self.max_failures, self.window_s = counter, max_failures, window_s

    @staticmethod
    def _key(email: str, ip: str) -> str:
        digest = hashlib.sha256(f"{email.strip().lower()}|{ip}".encode()).hexdigest()[:32]
        return f"login:{digest}"

    def check(self, email: str, ip: str) -> None:
        """Raise 429 with Retry-After while this email+IP is locked out."""
        if self.max_failures <= 0:
            return
        count, remaining = self.counter.get(self._key(email, ip))
        if count >= self.max_failures:
            raise APIError(
                429, "rate_limited",
                f"too many failed logins for this email from this address; try again in "
                f"{retry_after(remaining)} s",
                headers={"Retry-After": retry_after(remaining)},
            )

    def failed(self, email: str, ip: str) -> None:
        self.counter.incr(self._key(email, ip), self.window_s)

    def succeeded(self, email: str, ip: str) -> None:
        self.counter.reset(self._key(email, ip))
