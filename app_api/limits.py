"""Request body limits for the API routes, answered with the standard JSON error (413).

The collector's routes keep their own limits; this middleware only looks at the API's
paths. A declared Content-Length over the limit is refused before the body is read; a
chunked body is counted while it streams in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app_api.errors import error_body


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` when the body passes the limit (FastAPI re-raises it as-is)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large; the limit is {limit} bytes")
        self.limit = limit


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int, overrides: dict[str, int] | None = None,
                 prefixes: Iterable[str] = ("/v1/",),
                 exclude: Iterable[str] = ()) -> None:
        self.app, self.limit = app, limit
        self.overrides = overrides or {}
        self.prefixes = tuple(prefixes)
        self.exclude = frozenset(exclude)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = json.dumps(error_body("too_large", BodyTooLargeError(limit).detail)).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(self.prefixes) or path in self.exclude:
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(path, self.limit)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._refuse(send, limit)
                    return
        total = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError:
            if started:
                raise
            await self._refuse(send, limit)
