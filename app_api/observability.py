"""Request context for logs: a request id and the caller's organization on every line.

A pure ASGI middleware (no copy of the scope): it binds ``request_id`` (the caller's
``X-Request-ID`` when it is a short token, else a new one, echoed in the response) into
structlog's context variables, so every log line of the request carries it, and writes one
``request`` line when the response is sent: method, route template (never the raw path or
query string, which can hold personal data), status, duration and the organization that
``app_api.deps.authorize`` resolved.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from fastapi import FastAPI
from opentelemetry.trace import SpanKind, StatusCode
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.logs import REQUEST_SCOPE, get_logger
from kernel.telemetry import API_LATENCY, API_REQUESTS
from kernel.tracing import enabled as tracing_enabled
from kernel.tracing import tracer

log = get_logger("lodestone.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
#: Methods kept as metric labels; anything else is counted as OTHER (bounded labels).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(app: Any, scope: Scope) -> str:
    """The matched route's path template (``/v1/magnets/{magnet_id}``) or ``unmatched``."""
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return str(route.path)
    for candidate in getattr(app, "routes", ()):
        match, _ = candidate.matches(scope)
        if match == Match.FULL:
            return str(getattr(candidate, "path", "unmatched"))
    return "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, root: Any) -> None:
        self.app = app
        self.root = root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        scope_token = REQUEST_SCOPE.set(scope)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(self.root, scope)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            API_REQUESTS.labels(method, route, str(status)).inc()
            API_LATENCY.labels(method, route).observe(seconds)
            log.info("request", method=scope["method"], route=route, status=status,
                     duration_ms=round(seconds * 1000, 1))
            REQUEST_SCOPE.reset(scope_token)
            structlog.contextvars.reset_contextvars(**tokens)


class TracingMiddleware:
    """One server span per request, named by the route template; DB spans nest under it."""

    def __init__(self, app: ASGIApp, root: Any) -> None:
        self.app = app
        self.root = root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with tracer().start_as_current_span(scope["method"], kind=SpanKind.SERVER) as span:
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = route_template(self.root, scope)
                span.update_name(f"{scope['method']} {route}")
                span.set_attribute("http.request.method", scope["method"])
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)


def install_observability(app: FastAPI) -> None:
    """Request ids, per-request log lines and metrics for ``app``; spans if tracing is on."""
    if tracing_enabled():
        app.add_middleware(TracingMiddleware, root=app)
    app.add_middleware(RequestContextMiddleware, root=app)
