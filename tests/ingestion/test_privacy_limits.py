"""Daily salts (patched clock), token-bucket rate limits (in-process and Redis)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingestion.enrich import SaltStore
from ingestion.ratelimit import Buckets, Limit, RateLimiter, retry_after

DAY = 86400.0


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _ts(day: str, hour: int = 0) -> float:
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() + hour * 3600


def test_salts_rotate_daily_and_are_destroyed_after_48_hours(tmp_path: Path) -> None:
    clock = Clock(_ts("2026-03-01", 9))
    salts = SaltStore(tmp_path, "k", clock=clock)
    a = salts.visitor_id("org", "203.0.113.7", "UA")
    assert a == salts.visitor_id("org", "203.0.113.7", "UA") and a.startswith("c")
    assert salts.visitor_id("org2", "203.0.113.7", "UA") != a  # per organization
    assert salts.visitor_id("org", "203.0.113.8", "UA") != a
    assert "203.0.113.7" not in (tmp_path / "2026-03-01.salt").read_bytes().decode("latin-1")
    clock.t = _ts("2026-03-01", 23)
    assert salts.visitor_id("org", "203.0.113.7", "UA") == a  # same day, same id
    clock.t = _ts("2026-03-02", 1)
    b = salts.visitor_id("org", "203.0.113.7", "UA")
    assert b != a  # a new day, a new salt: no linking across days
    assert sorted(p.stem for p in tmp_path.glob("*.salt")) == ["2026-03-01", "2026-03-02"]
    clock.t = _ts("2026-03-02", 23.99)  # type: ignore[arg-type]
    assert salts.destroy_old() == [] and len(list(tmp_path.glob("*.salt"))) == 2
    clock.t = _ts("2026-03-03", 0) + 1  # 48 h after 2026-03-01 began
    assert salts.destroy_old() == ["2026-03-01"]
    assert sorted(p.stem for p in tmp_path.glob("*.salt")) == ["2026-03-02"]
    # a second worker (another SaltStore on the same directory) agrees on today's id
    other = SaltStore(tmp_path, "k", clock=clock)
    assert other.visitor_id("org", "1.2.3.4", "UA") == salts.visitor_id("org", "1.2.3.4", "UA")
    assert SaltStore(tmp_path, "another-key", clock=clock).visitor_id("org", "1.2.3.4", "UA") != \
        salts.visitor_id("org", "1.2.3.4", "UA")


def test_destroyed_salts_cannot_be_recreated_to_link_old_ids(tmp_path: Path) -> None:
    clock = Clock(_ts("2026-03-01", 12))
    salts = SaltStore(tmp_path, "k", clock=clock)
    old = salts.visitor_id("org", "ip", "ua")
    clock.t += 3 * DAY
    salts.visitor_id("org", "ip", "ua")  # creating today's salt destroys the expired ones
    assert not (tmp_path / "2026-03-01.salt").exists()
    clock.t = _ts("2026-03-01", 12)  # even a clock set back gets a fresh random salt
    assert SaltStore(tmp_path, "k", clock=clock).visitor_id("org", "ip", "ua") != old


def test_token_bucket_burst_refill_and_retry_after() -> None:
    b = Buckets(Limit(rate=10, burst=5))
    assert all(b.wait("ip", 1, 100.0) == 0 for _ in range(5))
    wait = b.wait("ip", 1, 100.0)
    assert wait == pytest.approx(0.1) and retry_after(wait) == "1"
    assert b.wait("other-ip", 1, 100.0) == 0  # keys are independent
    assert b.wait("ip", 1, 100.2) == 0  # refilled 2 tokens in 0.2 s
    assert b.wait("ip", 50, 200.0) == 0  # a batch beyond the burst passes on a full bucket
    b.prune(1000.0)
    assert b._state == {}


def test_rate_limiter_checks_org_and_ip() -> None:
    rl = RateLimiter(Limit(100, 100), Limit(1000, 3))
    assert [rl.local("org", "1.1.1.1", 10) for _ in range(3)] == [0, 0, 0]
    assert rl.local("org", "1.1.1.1", 10) > 0  # the IP's burst of 3 requests is spent
    assert rl.local("org", "2.2.2.2", 80) > 0  # 30 + 80 > the org's 100 events
    assert rl.local("org", None, 60) == 0  # server-side calls skip the IP bucket
    off = RateLimiter(Limit(0, 0), Limit(0, 0))
    assert all(off.local("o", "i", 10**6) == 0 for _ in range(100))


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping())
    except Exception:
        return False


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running at 127.0.0.1:6379")
def test_redis_limits_are_shared_between_collectors() -> None:
    org = f"test-{uuid.uuid4().hex}"

    async def go() -> list[float]:
        a = RateLimiter(Limit(1, 5), Limit(0, 0), redis_url="redis://127.0.0.1:6379/0", secret="s")
        b = RateLimiter(Limit(1, 5), Limit(0, 0), redis_url="redis://127.0.0.1:6379/0", secret="s")
        try:
            waits = [await a.check(org, "ip", 2), await b.check(org, "ip", 2), await a.check(org, "ip", 2)]
            return waits
        finally:
            await a.close()
            await b.close()

    first, second, third = asyncio.run(go())
    assert first == 0 and second == 0 and third > 0  # 2 + 2 + 2 > burst 5, across instances


def test_redis_down_fails_open_to_local_buckets() -> None:
    async def go() -> float:
        rl = RateLimiter(Limit(1, 5), Limit(0, 0), redis_url="redis://127.0.0.1:9/0")
        try:
            return await rl.check("org", "ip", 1)
        finally:
            await rl.close()

    assert asyncio.run(go()) == 0
