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
import gc
import re
import time
from collections import deque
from dataclasses import dataclass, field

_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.I)
LOCAL = ("127.0.0.1", "localhost", "::1")
# Requests due are sent every tick. uvloop rounds shorter sleeps down to zero, which turns the
# sender into a busy loop that takes a whole core from the server under test.
TICK_S = 0.001


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

    def send(self, request: bytes, dues: list[float]) -> None:
        """Pipeline one copy of ``request`` per due time, in one write."""
        self.due.extend(dues)
        self.writer.write(request * len(dues))

    async def read_answers(self, expected: int) -> None:
        """Parse answers as they arrive; each one's latency is counted from its due time.

        Answers are located with an offset into the buffer (never by re-slicing it per
        answer, which copies the rest of a 64 KiB read hundreds of times).
        """
        buf = b""
        got = 0
        result, due = self.result, self.due
        while got < expected:
            chunk = await self.reader.read(65536)
            if not chunk:
                return
            now = time.perf_counter()
            buf = buf + chunk if buf else chunk
            pos = 0
            while True:
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0:
                    break
                m = _LENGTH.search(buf, pos, end)
                total = end + 4 + (int(m.group(1)) if m else 0)
                if len(buf) < total:
                    break
                if buf[pos + 9:pos + 10] != b"2":
                    result.non_2xx += 1
                pos = total
                got += 1
                result.completed += 1
                result.latencies.append(now - due.popleft())
            buf = buf[pos:]


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
        if due_now > i:
            for k, conn in enumerate(conns):  # request j goes to connection j % connections
                first = i + (k - i) % connections
                if first < due_now:
                    conn.send(request, [start + j / rate for j in range(first, due_now, connections)])
            i = due_now
        result.sent = i
        await asyncio.sleep(TICK_S)
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
    """:func:`open_loop` on a fresh (uv)loop, for synchronous callers.

    The cyclic garbage collector is paused meanwhile: in a process holding a large heap
    (the benchmark's imports) one full pass takes tens of milliseconds, during which no
    answer is read and every latency in flight grows by that much.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        import uvloop

        return uvloop.run(open_loop(host, port, request, rate, duration, **kwargs))  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover
        return asyncio.run(open_loop(host, port, request, rate, duration, **kwargs))  # type: ignore[arg-type]
    finally:
        if paused:
            gc.enable()


def get_request(path: str, host: str = "127.0.0.1", headers: dict[str, str] | None = None) -> bytes:
    """Raw keep-alive GET request bytes."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.loadgen PORT RATE SECONDS [PATH]``: one run, printed as JSON."""
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(description="Open-loop GET load against 127.0.0.1 (see module doc).")
    ap.add_argument("port", type=int)
    ap.add_argument("rate", type=float, help="requests per second")
    ap.add_argument("seconds", type=float)
    ap.add_argument("path", nargs="?", default="/healthz")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    args = ap.parse_args(argv)
    headers = dict(h.split(": ", 1) for h in args.header)
    r = run_open_loop("127.0.0.1", args.port, get_request(args.path, headers=headers), args.rate,
                      args.seconds, connections=args.connections)
    json.dump({"rate": r.rate, "sent": r.sent, "completed": r.completed, "non_2xx": r.non_2xx,
               "achieved_rate": r.achieved_rate, "p50_s": r.quantile(0.5), "p99_s": r.quantile(0.99)},
              sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":  # pragma: no cover - manual and benchmark use
    raise SystemExit(main())
