"""Token-bucket rate limits per organization (events/s) and per client IP (requests/s).

In-process buckets by default (each worker enforces the limit on its own share of the
traffic); with ``LODESTONE_REDIS_URL`` set, one Lua script checks and takes from both
buckets atomically in Redis, so every collector instance shares the same limits. If Redis
is unreachable the collector keeps serving with its in-process buckets (fail open) rather
than refusing events. IPs are bucket keys only in memory or in Redis, under a keyed hash,
and expire with their bucket.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# KEYS: bucket keys. ARGV: per key (rate per second, burst, cost). Returns 0 when every bucket
# had enough tokens (and takes them), else the milliseconds until the emptiest one refills.
LUA_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait, left = 0, {}
for i, key in ipairs(KEYS) do
  local rate, burst, cost = tonumber(ARGV[i*3-2]), tonumber(ARGV[i*3-1]), tonumber(ARGV[i*3])
  local v = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(v[1]) or burst
  local at = tonumber(v[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
  if tokens < cost then wait = math.max(wait, math.ceil((cost - tokens) * 1000 / rate)) end
  left[i] = tokens
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local rate, burst, cost = tonumber(ARGV[i*3-2]), tonumber(ARGV[i*3-1]), tonumber(ARGV[i*3])
  redis.call('HSET', key, 'tokens', left[i] - cost, 'at', now)
  redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
end
return 0
"""


@dataclass(frozen=True)
class Limit:
    """``rate`` tokens per second, at most ``burst`` banked; rate 0 disables the limit."""

    rate: float
    burst: float

    @property
    def enabled(self) -> bool:
        return self.rate > 0


class Buckets:
    """In-process token buckets keyed by string (bounded: idle full buckets are forgotten)."""

    def __init__(self, limit: Limit, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._state: dict[str, list[float]] = {}

    def wait(self, key: str, cost: float, now: float) -> float:
        """0 if ``cost`` tokens were taken, else seconds until they would be available."""
        rate, burst = self.limit.rate, self.limit.burst
        cost = min(cost, burst)  # a batch larger than the burst still passes when full
        st = self._state.get(key)
        if st is None:
            if len(self._state) >= self.max_keys:
                self.prune(now)
            self._state[key] = [burst - cost, now]
            return 0.0
        tokens = min(burst, st[0] + (now - st[1]) * rate)
        st[1] = now
        if tokens >= cost:
            st[0] = tokens - cost
            return 0.0
        st[0] = tokens
        return (cost - tokens) / rate

    def prune(self, now: float) -> None:
        """Forget buckets that have refilled completely (they behave like new ones)."""
        rate, burst = self.limit.rate, self.limit.burst
        full = [k for k, (tok, at) in self._state.items() if tok + (now - at) * rate >= burst]
        for k in full:
            del self._state[k]
        if len(self._state) >= self.max_keys:  # under attack: drop the oldest half
            for k in sorted(self._state, key=lambda k: self._state[k][1])[: self.max_keys // 2]:
                del self._state[k]


class RateLimiter:
    """Checks the organization's and the client's buckets; returns seconds to wait or 0."""

    def __init__(self, org: Limit, ip: Limit, *, redis_url: str = "", secret: str = "") -> None:
        self.org, self.ip = org, ip
        self._org = Buckets(org)
        self._ip = Buckets(ip)
        self._secret = secret.encode()
        self._redis: Any = None
        self._script: Any = None
        self._redis_down_until = 0.0
        if redis_url and (org.enabled or ip.enabled):
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(
                redis_url, socket_timeout=0.25, socket_connect_timeout=0.25
            )
            self._script = self._redis.register_script(LUA_TAKE)

    @property
    def uses_redis(self) -> bool:
        return self._redis is not None

    def local(self, org_id: str, ip: str | None, cost: int) -> float:
        """In-process check (the fast path, also the fallback while Redis is away)."""
        now = time.monotonic()
        wait = 0.0
        if self.ip.enabled and ip is not None:
            wait = self._ip.wait(ip, 1, now)
        if self.org.enabled and not wait:
            wait = self._org.wait(org_id, cost, now)
        return wait

    async def check(self, org_id: str, ip: str | None, cost: int) -> float:
        """Seconds until the request may be retried; 0 means go ahead (tokens taken)."""
        if self._redis is None or time.monotonic() < self._redis_down_until:
            return self.local(org_id, ip, cost)
        keys, args = [], []
        if self.org.enabled:
            keys.append(f"lodestone:rl:org:{org_id}")
            args += [self.org.rate, self.org.burst, min(cost, self.org.burst)]
        if self.ip.enabled and ip is not None:
            digest = hashlib.blake2b(ip.encode(), key=self._secret[:64], digest_size=12).hexdigest()
            keys.append(f"lodestone:rl:ip:{digest}")
            args += [self.ip.rate, self.ip.burst, 1]
        try:
            ms = await self._script(keys=keys, args=args)
        except Exception as exc:  # Redis away: fail open to the in-process buckets
            log.warning("rate limiter: Redis unavailable (%s); using in-process buckets", exc)
            self._redis_down_until = time.monotonic() + 5.0
            return self.local(org_id, ip, cost)
        return int(ms) / 1000.0

    def prune(self) -> None:
        now = time.monotonic()
        self._org.prune(now)
        self._ip.prune(now)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def retry_after(wait_s: float) -> str:
    """A Retry-After value in whole seconds (at least 1)."""
    return str(max(1, math.ceil(wait_s)))
