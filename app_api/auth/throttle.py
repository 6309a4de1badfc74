"""Login throttling: failures counted per target account and per client IP.

An attacker may guess one account's password from many IPs, or many accounts' from one
IP, so both are counted, and both are checked *before* any password hash is computed.
A success resets only the counter of the account that signed in: before, the key was
(email, IP) and any success reset it, so an admin who gave a user of their own
organization another organization's email could alternate four guesses with one login of
their own and never be throttled (issue #18).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from app_api.errors import APIError
from app_api.ratelimit import Counter, retry_after


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class LoginThrottle:
    """Counts failed sign-ins; ``check_*`` refuse (429) before the password is verified."""

    def __init__(self, counter: Counter, max_failures: int, window_s: int,
                 max_failures_per_ip: int = 0) -> None:
        self.counter, self.max_failures, self.window_s = counter, max_failures, window_s
        self.max_failures_per_ip = max_failures_per_ip

    @staticmethod
    def account_key(account: str) -> str:
        """``account`` is a user id, or ``email:<account index>`` (the keyed blind index of
        the address, ``kernel.crypto.Keyring.account_index``) when no such user exists."""
        return f"login:acct:{_digest(account)}"

    @staticmethod
    def ip_key(ip: str) -> str:
        return f"login:ip:{_digest(ip)}"

    def _refuse_if_over(self, key: str, limit: int, what: str) -> None:
        if limit <= 0:
            return
        count, remaining = self.counter.get(key)
        if count >= limit:
            wait = retry_after(remaining)
            raise APIError(429, "rate_limited",
                           f"too many failed sign-ins {what}; try again in {wait} s",
                           headers={"Retry-After": wait})

    def check_ip(self, ip: str) -> None:
        self._refuse_if_over(self.ip_key(ip), self.max_failures_per_ip, "from this address")

    def check_accounts(self, accounts: Iterable[str]) -> None:
        for account in accounts:
            self._refuse_if_over(self.account_key(account), self.max_failures,
                                 "for this account")

    def failed(self, ip: str, accounts: Iterable[str]) -> None:
        """One failure for the IP and for every account the attempt could have opened."""
        self.counter.incr(self.ip_key(ip), self.window_s)
        for account in accounts:
            self.counter.incr(self.account_key(account), self.window_s)

    def succeeded(self, account: str) -> None:
        """Reset the account that signed in (never the IP's count, nor other accounts')."""
        self.counter.reset(self.account_key(account))
