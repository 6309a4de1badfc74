"""Chunked bodies are counted as they arrive and refused at the limit (issue #18, item 8).

Real servers (``lodestone collector`` and ``lodestone serve``, one uvicorn process each) get
a 300 MiB chunked body on every route that takes one; each answers 413 long before the
body ends, and the process's peak RSS grows by less than twice the limit.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.validate import MAX_BODY_BYTES
from lodestone.seed import SeededOrg
from tests.helpers import running_server
from tests.ingestion.support import setup_storage
from tests.security.chunked import MiB, reset_peak, rss, send_chunked

pytestmark = pytest.mark.slow  # two real servers; ~40 s of start-up on a busy machine

HUGE = 300 * MiB
API_LIMIT = 1024 * 1024  # ApiConfig.max_body_bytes
UPLOAD_LIMIT = 10 * 1024 * 1024  # ApiConfig.upload_max_bytes


Server = tuple[str, subprocess.Popen[bytes], SeededOrg]


def _server(tmp: Path, command: str) -> Iterator[Server]:
    settings, org, _ = setup_storage(tmp / "data")
    with running_server(settings, command=command, timeout=120) as (base, proc):
        yield base, proc, org


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(tmp_path_factory.mktemp("limits-collector"), "collector")


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(tmp_path_factory.mktemp("limits-serve"), "serve")


def _refused_within(server: Server, path: str, limit: int, auth: bool) -> None:
    base, proc, org = server
    headers = {"Authorization": f"Bearer {org.api_key}"} if auth else {}
    send_chunked(base, path, 64 * 1024, headers)  # warm the route up first
    before, _ = rss(proc.pid)
    reset_peak(proc.pid)
    result = send_chunked(base, path, HUGE, headers)
    _, peak = rss(proc.pid)
    assert result.status == 413, (path, result.status, result.body[:200])
    assert b"too_large" in result.body
    assert result.sent < HUGE // 4, f"{path}: {result.sent / MiB:.0f} MiB sent before the 413"
    growth = peak - before
    assert growth < 2 * limit, f"{path}: RSS grew {growth / MiB:.1f} MiB (limit {limit / MiB} MiB)"


@pytest.mark.parametrize("path,auth", [("/e", False), ("/v1/events", True),
                                       ("/v1/events", False)])
def test_collector_refuses_a_huge_chunked_body_at_the_limit(collector: Server, path: str,
                                                            auth: bool) -> None:
    _refused_within(collector, path, MAX_BODY_BYTES, auth)


@pytest.mark.parametrize("path,limit", [
    ("/e", MAX_BODY_BYTES), ("/v1/events", MAX_BODY_BYTES), ("/v1/magnets", API_LIMIT),
    ("/v1/auth/login", API_LIMIT), ("/v1/ad-spend/import", UPLOAD_LIMIT)])
def test_api_refuses_a_huge_chunked_body_at_the_limit(serve: Server, path: str,
                                                      limit: int) -> None:
    _refused_within(serve, path, limit, auth=True)
