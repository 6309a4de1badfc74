"""A local OpenAI-compatible server for tests: scripted answers, real HTTP on 127.0.0.1.

Tests push what the next requests get (an answer as content or as a tool call, a status
with headers, streamed or not as the request asks) and read back every request body::

    with OpenAIServer() as server:
        server.push(Reply(content='{"a": 1}'), Fail(429, headers={"retry-after-ms": "10"}))
        ... openai.OpenAI(base_url=server.base_url) ...
        server.requests  # the JSON bodies received

``refuse`` lists output modes the server rejects with 400 like an endpoint that does not
support them: ``"json_schema"``, ``"json_object"``, ``"tools"``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.helpers import free_port


@dataclass
class Reply:
    """A 200 answer: ``content`` text, or ``tool_args`` as a function call's arguments."""

    content: str | None = None
    tool_args: str | None = None
    prompt_tokens: int = 120
    completion_tokens: int = 80
    usage: bool = True
    delay: float = 0.0  # seconds before answering (timeouts)


@dataclass
class Fail:
    """An error answer in OpenAI's error shape."""

    status: int
    message: str = "scripted failure"
    headers: dict[str, str] = field(default_factory=dict)


class OpenAIServer:
    """Uvicorn in a thread serving ``/v1/chat/completions`` from a script."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.script: deque[Reply | Fail] = deque()
        self.requests: list[dict[str, Any]] = []
        self.refuse: set[str] = set()
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                     log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def push(self, *items: Reply | Fail) -> None:
        with self._lock:
            self.script.extend(items)

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test OpenAI server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            mode = _mode(body)
            if mode in self.refuse:
                return _error(400, f"{mode} is not supported by this server", {})
            if not self.script:
                return _error(500, "no scripted answer left", {})
            item = self.script.popleft()
        if isinstance(item, Fail):
            return _error(item.status, item.message, item.headers)
        if item.delay:
            await asyncio.sleep(item.delay)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(_sse(body, item, include_usage), media_type="text/event-stream")
        return JSONResponse(_completion(body, item))


def _mode(body: dict[str, Any]) -> str:
    if body.get("tools"):
        return "tools"
    fmt = body.get("response_format") or {}
    return str(fmt.get("type", "plain"))


def _error(status: int, message: str, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "test_error", "code": status}},
                        status_code=status, headers=headers)


def _tool_call(body: dict[str, Any], args: str, index: int | None = None) -> dict[str, Any]:
    name = body["tools"][0]["function"]["name"] if body.get("tools") else "submit"
    call: dict[str, Any] = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": args}}
    if index is not None:
        call["index"] = index
    return call


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_args is not None:
        message = {"role": "assistant", "content": None, "tool_calls": [_tool_call(body, reply.tool_args)]}
    out: dict[str, Any] = {
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "test"),
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "tool_calls" if reply.tool_args is not None else "stop"}],
    }
    if reply.usage:
        out["usage"] = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                        "total_tokens": reply.prompt_tokens + reply.completion_tokens}
    return out


def _sse(body: dict[str, Any], reply: Reply, include_usage: bool) -> Any:
    base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body.get("model", "test")}
    text = reply.tool_args if reply.tool_args is not None else (reply.content or "")
    pieces = [text[i : i + max(1, len(text) // 4 + 1)] for i in range(0, len(text), max(1, len(text) // 4 + 1))]

    async def events() -> Any:
        for i, piece in enumerate(pieces):
            if reply.tool_args is not None:
                call = _tool_call(body, piece, index=0)
                if i:
                    call = {"index": 0, "function": {"arguments": piece}}
                delta: dict[str, Any] = {"tool_calls": [call]}
            else:
                delta = {"content": piece}
            if i == 0:
                delta["role"] = "assistant"
            yield f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': delta, 'finish_reason': None}]})}\n\n"
        yield f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}\n\n"
        if include_usage and reply.usage:
            usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                     "total_tokens": reply.prompt_tokens + reply.completion_tokens}
            yield f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    return events()
