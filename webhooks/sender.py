"""One HTTP attempt to deliver a signed webhook: SSRF-checked, pinned, 15 s, no redirects."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from kernel.metadata.models import RESPONSE_BODY_LIMIT
from webhooks.signing import signature_headers
from webhooks.ssrf import UnsafeTargetError, parse, resolve

TIMEOUT_S = 15.0
USER_AGENT = "Lodestone-Webhooks/1"


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    status_code: int | None = None
    body: str | None = None
    error: str | None = None

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver asks us to stop (the endpoint is disabled)."""
        return self.status_code == 410


def envelope(event_id: str, event_type: str, created_at: dt.datetime,
             data: dict[str, Any]) -> bytes:
    """The JSON body: ``{"id", "type", "timestamp", "data"}`` (Standard Webhooks payload)."""
    stamp = created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"id": event_id, "type": event_type, "timestamp": stamp, "data": data},
                      separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def send(client: httpx.Client, url: str, secrets: list[str], msg_id: str, body: bytes,
         *, timeout: float = TIMEOUT_S, allow_private: bool = False) -> AttemptResult:
    """POST ``body`` to ``url`` signed with ``secrets``; 2xx is success, anything else not."""
    try:
        addresses = resolve(url, allow_private=allow_private)
        scheme, host, port = parse(url)
    except UnsafeTargetError as exc:
        return AttemptResult(False, error=str(exc))
    original = httpx.URL(url)
    pinned = original.copy_with(host=str(addresses[0]), port=port)
    headers = {
        **signature_headers(secrets, msg_id, int(time.time()), body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "host": original.netloc.decode("ascii"),
    }
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    try:
        with client.stream("POST", pinned, content=body, headers=headers, timeout=timeout,
                           extensions=extensions, follow_redirects=False) as response:
            raw = b""
            for chunk in response.iter_bytes():
                raw += chunk
                if len(raw) >= RESPONSE_BODY_LIMIT:
                    break
            text = raw[:RESPONSE_BODY_LIMIT].decode("utf-8", "replace").replace("\x00", "")
            ok = 200 <= response.status_code < 300
            error = None if ok else (
                f"HTTP {response.status_code}" + (" (redirects are not followed)"
                                                  if 300 <= response.status_code < 400 else ""))
            return AttemptResult(ok, response.status_code, text, error)
    except httpx.TimeoutException:
        return AttemptResult(False, error=f"timed out after {timeout:g} s")
    except httpx.HTTPError as exc:
        return AttemptResult(False, error=f"{type(exc).__name__}: {exc}"[:500])
