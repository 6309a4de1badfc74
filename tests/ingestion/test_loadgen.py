"""The open-loop load generator the latency benchmark relies on, against a real local server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from benchmarks.loadgen import get_request, open_loop, run_open_loop

DELAY_S = 0.02  # the server answers every request this late


class PipelinedServer:
    """HTTP/1.1 on 127.0.0.1 answering pipelined GETs in order, each ``DELAY_S`` after it arrived.

    Every third answer is a 404 (with a body), the others 200 with a 42-byte body, so the
    generator's parsing of lengths and statuses is exercised.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.received = 0
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._conn, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = b""
        while chunk := await reader.read(65536):
            buf += chunk
            while (end := buf.find(b"\r\n\r\n")) >= 0:
                buf = buf[end + 4:]
                self.received += 1
                status, body = (b"404 Not Found", b"missing") if self.received % 3 == 0 else (b"200 OK", b"x" * 42)
                answer = b"HTTP/1.1 " + status + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                self.loop.call_later(DELAY_S, writer.write, answer)  # answers keep their order

    def __enter__(self) -> PipelinedServer:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture()
def server() -> Iterator[PipelinedServer]:
    with PipelinedServer() as s:
        yield s


def test_open_loop_sends_exactly_rate_times_duration_and_reads_every_answer(server: PipelinedServer) -> None:
    t0 = time.process_time()
    r = run_open_loop("127.0.0.1", server.port, get_request("/p.gif"), 2000, 1.5, connections=8)
    cpu = time.process_time() - t0
    assert r.sent == r.completed == 3000 == server.received
    assert r.non_2xx == 1000  # every third answer was a 404
    assert len(r.latencies) == 3000
    # latency counts from the due time: never less than the server's delay, and not much more
    assert DELAY_S <= r.quantile(0.01) and r.quantile(0.5) < DELAY_S + 0.05
    assert 1.4 < r.seconds < 3.0 and abs(r.achieved_rate - 2000) < 400
    # the sender sleeps between ticks instead of spinning (a busy loop would use ~1.5 s of CPU)
    assert cpu < 1.0, f"the generator used {cpu:.2f} s of CPU for 1.5 s of load"


def test_open_loop_only_targets_this_machine() -> None:
    with pytest.raises(ValueError, match="only targets this machine"):
        asyncio.run(open_loop("example.com", 80, b"", 1, 1))
