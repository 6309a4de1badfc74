"""OpenTelemetry tracing: API request -> metadata DB, collector shipper -> warehouse insert.

Off unless ``LODESTONE_OTEL_ENDPOINT`` names an OTLP/HTTP collector: then
:func:`configure_tracing` installs an SDK tracer provider that batches spans to
``<endpoint>/v1/traces``. While off, :func:`tracer` is OpenTelemetry's no-op tracer, the
API adds no middleware and the database no event listeners, so tracing costs nothing.

Lodestone keeps its provider to itself (not ``trace.set_tracer_provider``, which can be set
once per process), so a test can install an SDK provider with an in-memory exporter and
remove it again. Span contexts still travel through OpenTelemetry's context variables, so a
DB span started in a route's worker thread is the request span's child.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from opentelemetry import trace
from opentelemetry.trace import Span, StatusCode, Tracer

from kernel.settings import Settings

_NOOP = trace.NoOpTracer()
_provider: Any = None  # an SDK TracerProvider while tracing is on


def tracer() -> Tracer:
    """Lodestone's tracer: the configured provider's, else a no-op one."""
    return _provider.get_tracer("lodestone") if _provider is not None else _NOOP


def enabled() -> bool:
    return _provider is not None


def install(provider: Any) -> None:
    """Use ``provider`` (an ``opentelemetry.sdk.trace.TracerProvider``); None turns tracing off."""
    global _provider
    _provider = provider


def configure_tracing(settings: Settings, service: str) -> bool:
    """Export spans of this process over OTLP when ``settings.otel_endpoint`` is set.

    Returns whether tracing is on. Already on (a provider installed): left as it is.
    """
    if _provider is not None:
        return True
    if not settings.otel_endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    endpoint = settings.otel_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    install(provider)
    return True


def trace_engine(engine: sa.Engine) -> None:
    """A ``db.query`` span around every statement ``engine`` runs (the SQL without values)."""
    system = engine.dialect.name
    key = "lodestone.span"

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
               executemany: bool) -> None:
        span = tracer().start_span(f"db {statement.split(None, 1)[0].upper()}",
                                   kind=trace.SpanKind.CLIENT)
        span.set_attribute("db.system", system)
        span.set_attribute("db.statement", statement[:1000])  # parameterized: no values
        conn.info.setdefault(key, []).append(span)

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _end(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
             executemany: bool) -> None:
        spans: list[Span] = conn.info.get(key) or []
        if spans:
            spans.pop().end()

    @sa.event.listens_for(engine, "handle_error")
    def _error(context: Any) -> None:
        conn = context.connection
        spans: list[Span] = conn.info.get(key) or [] if conn is not None else []
        if spans:
            span = spans.pop()
            span.record_exception(context.original_exception)
            span.set_status(StatusCode.ERROR)
            span.end()
