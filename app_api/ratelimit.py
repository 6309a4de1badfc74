"""Fixed-window counters for request rate limits and login throttling.

With ``LODESTONE_REDIS_URL`` the counters live in Redis and are shared by every API
process; otherwise (or while Redis is unreachable) each process counts for itself.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Counter(Protocol):
    def incr(self, key: str, window_s: int) -> tuple[int, float]:
        """Add one to ``key``; return (count in the current window, seconds until it ends)."""

    def get(self, key: str) -> tuple[int, float]:
        """(count, seconds until the window ends) without counting."""

    def reset(self, key: str) -> None: ...


class MemoryCounter:
    """Per-process counters; each key's window starts at its first hit."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def incr(self, key: str, window_s: int) -> tuple[int, float]:
        now = self._clock()
        with self._lock:
            end, count = self._data.get(key, (0.0, 0))
            if now >= end:
                end, count = now + window_s, 0
            count += 1
            self._data[key] = (end, count)
            if len(self._data) > 100_000:  # bound memory: drop expired windows
                self._data = {k: v for k, v in self._data.items() if v[0] > now}
            return count, end - now

    def get(self, key: str) -> tuple[int, float]:
        now = self._clock()
        with self._lock:
            end, count = self._data.get(key, (0.0, 0))
        return (count, end - now) if now < end else (0, 0.0)

    def reset(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class RedisCounter:
    """Counters in Redis (INCR + EXPIRE), falling back to memory if Redis fails."""

    def __init__(self, url: str, prefix: str = "lodestone:rl:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._prefix = prefix
        self._fallback = MemoryCounter()

    def incr(self, key: str, window_s: int) -> tuple[int, float]:
        k = self._prefix + key
        try:
            pipe = self._redis.pipeline()
            pipe.incr(k)
            pipe.expire(k, window_s, nx=True)
            pipe.pttl(k)
            count, _, ttl_ms = pipe.execute()
            return int(count), max(float(ttl_ms), 0.0) / 1000.0
        except Exception as exc:  # Redis is an optimisation here, never a hard dependency
            log.warning("redis rate limit unavailable (%s); counting in process", exc)
            return self._fallback.incr(key, window_s)

    def get(self, key: str) -> tuple[int, float]:
        k = self._prefix + key
        try:
            pipe = self._redis.pipeline()
            pipe.get(k)
            pipe.pttl(k)
            raw, ttl_ms = pipe.execute()
            return int(raw or 0), max(float(ttl_ms), 0.0) / 1000.0
        except Exception as exc:
            log.warning("redis rate limit unavailable (%s); counting in process", exc)
            return self._fallback.get(key)

    def reset(self, key: str) -> None:
        try:
            self._redis.delete(self._prefix + key)
        except Exception as exc:
            log.warning("redis rate limit unavailable (%s)", exc)
        self._fallback.reset(key)


def make_counter(redis_url: str) -> Counter:
    """Redis-backed counters when ``redis_url`` is set, else in-process ones."""
    return RedisCounter(redis_url) if redis_url else MemoryCounter()


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
