"""A bounded open-loop HTTP/1.1 load generator for benchmarks and tests (127.0.0.1 only).

Open loop: request *i* is due at ``start + i / rate`` whether or not earlier answers have
arrived (requests are pipelined on keep-alive connections), and its latency is measured
from that due time. A server that falls behind therefore shows its queueing delay instead
of hiding it (no coordinated omission, which closed-loop tools such as wrk suffer from).
Count and time are bounded: ``rate * duration`` requests, then at most ``timeout`` more
seconds for answers.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from dataclasses import dataclass, field

_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.I)
LOCAL = ("127.0.0.1", "localhost", "::1")


@dataclass
class LatencyResult:
    """What an open-loop run measured (latencies in seconds, from each due time)."""

    rate: float
    sent: int = 0
    completed: int = 0
    non_2xx: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))]

    @property
    def achieved_rate(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 result: LatencyResult, loop: asyncio.AbstractEventLoop) -> None:
        self.reader, self.writer, self.result, self.loop = reader, writer, result, loop
        self.due: deque[float] = deque()

    def send(self, request: bytes, due: float) -> None:
        self.due.append(due)
        self.writer.write(request)

    async def read_answers(self, expected: int) -> None:
        buf = b""
        got = 0
        while got < expected:
            chunk = await self.reader.read(65536)
            if not chunk:
                return
            buf += chunk
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                m = _LENGTH.search(buf, 0, end)
                total = end + 4 + (int(m.group(1)) if m else 0)
                if len(buf) < total:
                    break
                status = buf[9:12]
                buf = buf[total:]
                got += 1
                self.result.completed += 1
                if not status.startswith(b"2"):
                    self.result.non_2xx += 1
                self.result.latencies.append(time.perf_counter() - self.due.popleft())


async def open_loop(host: str, port: int, request: bytes, rate: float, duration: float, *,
                    connections: int = 32, timeout: float = 10.0) -> LatencyResult:
    """Send ``rate * duration`` copies of ``request`` at ``rate`` per second; see module doc."""
    if host not in LOCAL:
        raise ValueError("the load generator only targets this machine (127.0.0.1)")
    loop = asyncio.get_running_loop()
    result = LatencyResult(rate)
    total = int(rate * duration)
    conns = [_Conn(*await asyncio.open_connection(host, port), result, loop)
             for _ in range(connections)]
    per_conn = [len(range(k, total, connections)) for k in range(connections)]
    readers = [asyncio.create_task(c.read_answers(n)) for c, n in zip(conns, per_conn, strict=True)]
    start = time.perf_counter() + 0.05  # perf_counter: uvloop's loop.time() has 1 ms steps
    i = 0
    while i < total:
        due_now = min(total, int((time.perf_counter() - start) * rate) + 1)
        while i < due_now:
            conns[i % connections].send(request, start + i / rate)
            i += 1
        result.sent = i
        await asyncio.sleep(0.0005)
    try:
        await asyncio.wait_for(asyncio.gather(*readers), timeout)
    except TimeoutError:
        for t in readers:
            t.cancel()
    result.seconds = time.perf_counter() - start
    for c in conns:
        c.writer.close()
    return result


def run_open_loop(host: str, port: int, request: bytes, rate: float, duration: float,
                  **kwargs: float) -> LatencyResult:
    """:func:`open_loop` on a fresh (uv)loop, for synchronous callers."""
    try:
        import uvloop

        return uvloop.run(open_loop(host, port, request, rate, duration, **kwargs))  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover
        return asyncio.run(open_loop(host, port, request, rate, duration, **kwargs))  # type: ignore[arg-type]


def get_request(path: str, host: str = "127.0.0.1", headers: dict[str, str] | None = None) -> bytes:
    """Raw keep-alive GET request bytes."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    port, rate, secs = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    path = sys.argv[4] if len(sys.argv) > 4 else "/healthz"
    conns = int(sys.argv[5]) if len(sys.argv) > 5 else 32
    r = run_open_loop("127.0.0.1", port, get_request(path), rate, secs, connections=conns)
    sys.stdout.write(f"sent {r.sent} done {r.completed} p50 {r.quantile(.5)*1e3:.2f}ms "
                     f"p99 {r.quantile(.99)*1e3:.2f}ms at {r.achieved_rate:.0f}/s ({time.time():.0f})\n")
