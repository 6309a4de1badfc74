"""Tracing with the SDK's in-memory exporter: API request -> DB, shipper -> warehouse insert."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app_api.main import create_app
from app_api.observability import TracingMiddleware
from ingestion.columns import rows_to_block
from ingestion.shipper import Shipper
from ingestion.spool import Spool
from kernel import tracing
from kernel.events import make_row
from kernel.settings import Settings
from kernel.warehouse.lake_backend import LakeWarehouse
from lodestone.services import init_storage
from tests.app_api.world import build_world
from tests.helpers import make_settings


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.install(None)
        provider.shutdown()


def _by_name(finished: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name.startswith(prefix)]


def test_an_api_request_span_holds_its_db_spans(settings: Settings,
                                                spans: InMemorySpanExporter) -> None:
    init_storage(settings)
    with TestClient(create_app(settings, with_collector=False)) as client:
        world = build_world(client.app.state.lodestone)  # type: ignore[attr-defined]
        spans.clear()
        assert client.get("/v1/magnets", headers=world.a.key_auth()).status_code == 200
    finished = spans.get_finished_spans()
    (request,) = _by_name(finished, "GET /v1/magnets")
    assert request.attributes is not None and request.attributes["http.route"] == "/v1/magnets"
    assert request.attributes["http.response.status_code"] == 200
    queries = [s for s in _by_name(finished, "db ") if s.context.trace_id
               == request.context.trace_id]
    assert queries, [s.name for s in finished]
    assert all(q.parent is not None for q in queries)
    assert any(q.name == "db SELECT" and q.attributes is not None
               and q.attributes["db.system"] == "sqlite" for q in queries)
    ids = {request.context.span_id} | {q.context.span_id for q in queries}
    assert all(q.parent.span_id in ids for q in queries if q.parent)  # nested under the request


def test_tracing_off_adds_nothing(tmp_path: Path) -> None:
    assert not tracing.enabled()
    app = create_app(make_settings(tmp_path), with_collector=False)
    assert not any(m.cls is TracingMiddleware for m in app.user_middleware)
    assert not tracing.tracer().start_span("x").is_recording()


def test_the_shipper_traces_each_batch_and_its_warehouse_insert(
        tmp_path: Path, spans: InMemorySpanExporter) -> None:
    sp = Spool(tmp_path / "spool")
    rows = [make_row(org_id="o1", url=f"https://a.example/{i}") for i in range(7)]
    asyncio.run(sp.append(rows_to_block(rows)))  # type: ignore[arg-type]
    sp.seal()
    sh = Shipper(tmp_path / "spool", lambda: LakeWarehouse(tmp_path / "lake"), own_slot_dir=sp.dir)
    try:
        assert sh.ship_once() == 7
    finally:
        sh.close()
        sp.close()
    (batch,) = _by_name(spans.get_finished_spans(), "shipper.batch")
    (insert,) = _by_name(spans.get_finished_spans(), "warehouse.insert_events")
    assert insert.parent is not None and insert.parent.span_id == batch.context.span_id
    assert batch.attributes is not None and batch.attributes["events"] == 7
    assert batch.attributes["spool.segments"] == 1
    assert insert.attributes is not None and insert.attributes["events"] == 7


def test_spans_reach_an_otlp_http_collector(tmp_path: Path) -> None:
    """With LODESTONE_OTEL_ENDPOINT set, spans are POSTed as OTLP/HTTP protobuf to
    <endpoint>/v1/traces (a real receiver on 127.0.0.1 stands in for the collector)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[tuple[str, str, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            received.append((self.path, self.headers.get("content-type", ""), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        settings = make_settings(tmp_path / "data", otel_endpoint=endpoint)
        assert tracing.configure_tracing(settings, "lodestone-test")
        with tracing.tracer().start_as_current_span("shipper.batch-under-test"):
            pass
        assert tracing._provider.force_flush(10_000)
    finally:
        provider = tracing._provider
        tracing.install(None)
        if provider is not None:
            provider.shutdown()
        server.shutdown()
    assert len(received) >= 1
    path, ctype, body = received[0]
    assert path == "/v1/traces" and ctype == "application/x-protobuf"
    assert b"shipper.batch-under-test" in body and b"lodestone-test" in body
