"""Refuse hostile JSON bodies before a parser sees them: too deep, or lone surrogates.

FastAPI parses bodies with ``json.loads``, which recurses once per level (thousands of
levels raised ``RecursionError``, a 500) and accepts ``"\\ud800"``, a string no database
driver can encode (``UnicodeEncodeError``, a 500). Both are answered 400 with the standard
error body, naming the limit. Runs inside :class:`app_api.limits.BodyLimitMiddleware`, so
the body it holds is already bounded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app_api.errors import error_body
from ingestion.json_depth import MAX_JSON_DEPTH, lone_surrogate, text_depth_exceeds

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            ctype = value.split(b";", 1)[0].strip().lower()
            return ctype == b"application/json" or ctype.endswith(b"+json")
    return True  # FastAPI parses a body without a content type as JSON too


def refusal(body: bytes) -> str | None:
    """Why a JSON body is refused, or None."""
    if text_depth_exceeds(body, MAX_JSON_DEPTH):
        return (f"JSON nested more than {MAX_JSON_DEPTH} levels deep (arrays and objects "
                f"inside one another); the limit is {MAX_JSON_DEPTH}")
    lone = lone_surrogate(body)
    if lone is not None:
        return (f"JSON text holds a lone UTF-16 surrogate escape ({lone}); strings must be "
                "valid Unicode (pair a high surrogate with a low one, or send UTF-8)")
    return None


class JsonGuardMiddleware:
    def __init__(self, app: ASGIApp, *, prefixes: Iterable[str] = ("/v1/",),
                 exclude: Iterable[str] = ()) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)
        self.exclude = frozenset(exclude)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in BODY_METHODS
                or not scope["path"].startswith(self.prefixes) or scope["path"] in self.exclude
                or not _is_json(scope)):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        reason = refusal(body)
        if reason is not None:
            payload = json.dumps(error_body("bad_request", reason)).encode()
            await send({"type": "http.response.start", "status": 400, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode())]})
            await send({"type": "http.response.body", "body": payload})
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
