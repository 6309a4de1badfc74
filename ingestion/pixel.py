"""GET /p.gif — the leanest path: one pass over the query string and the headers, one block.

The pixel is the highest-rate endpoint (page views, email opens), so it skips what the
generic path pays for: no Starlette QueryParams/Headers objects (urllib's parse_qsl costs
more than the rest of the request), no msgspec struct, and the single event is kept as one
row (a tuple) that the group commit transposes with the rest of its group.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Scope, Send

from ingestion.columns import Block, RequestFacts, cached_channel, new_ids, utm_from_url
from ingestion.enrich import parse_user_agent
from ingestion.intake import GIF, GIF_HEADERS, Static, gif_headers
from ingestion.metrics import TALLY
from ingestion.ratelimit import retry_after
from ingestion.spool import SpoolFull
from ingestion.validate import (
    EVENT_FIELDS,
    FUTURE_SKEW_MS,
    MAX_LEN,
    MAX_VALUE,
    PAST_SKEW_MS_BROWSER,
    now_ms,
)
from kernel.schema import EVENT_TYPES, FLAG_TS_CLAMPED

if TYPE_CHECKING:
    from ingestion.intake import Intake

log = logging.getLogger(__name__)

WANTED = frozenset(f for f in EVENT_FIELDS if f != "props") | {"site"}
HEADERS = {b"user-agent": "ua", b"referer": "referer", b"dnt": "dnt", b"sec-gpc": "gpc",
           b"cf-ipcountry": "country"}
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@lru_cache(maxsize=4096)
def _unquote(value: str) -> str:
    return unquote_plus(value)  # the same page URLs come back again and again


def parse_query(qs: bytes) -> dict[str, str]:
    """The wanted fields of a query string (last value wins), percent-decoded as UTF-8."""
    out: dict[str, str] = {}
    text = qs.decode("latin-1") if qs.isascii() else qs.decode("utf-8", "replace")
    for part in text.split("&"):
        key, _, value = part.partition("=")
        if key in WANTED:
            out[key] = _unquote(value) if ("%" in value or "+" in value) else value
    return out


def scan_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in raw:
        name = HEADERS.get(k)
        if name is not None:
            out[name] = v.decode("latin-1")
    return out


def pixel_block(f: dict[str, str], ctx: RequestFacts) -> Block | str:
    """The one-event block for the pixel's fields, or why they are unacceptable."""
    event = f.get("event") or "pageview"
    if event not in EVENT_TYPES:
        return f"unknown event type {event[:32]!r}; expected one of {sorted(EVENT_TYPES)}"
    for name, text in f.items():
        limit = MAX_LEN.get(name)
        if limit and len(text) > limit:
            return f"field {name} is {len(text)} characters; the limit is {limit}"
    try:
        value = float(f["value"]) if f.get("value") else 0.0
        ts_in = float(f["ts"]) if f.get("ts") else None
        eid = uuid.UUID(f["event_id"]).bytes if f.get("event_id") else new_ids(1)
    except ValueError as exc:
        return f"invalid query parameter: {exc}"
    if not math.isfinite(value) or abs(value) > MAX_VALUE:
        return f"value must be a finite number within +-{MAX_VALUE:g}"
    received, flags = ctx.received_ms, ctx.flags
    ts = received
    if ts_in is not None:
        if received - PAST_SKEW_MS_BROWSER <= ts_in <= received + FUTURE_SKEW_MS:
            ts = int(ts_in)
        else:
            flags |= FLAG_TS_CLAMPED
    g = f.get
    url, referrer = g("url", ""), g("referrer", "")
    utm = [g(k, "") for k in UTM]
    if "utm_" in url and not all(utm):  # a campaign link without utm fields of its own
        utm = utm_from_url(url, utm)
    visitor = g("visitor_id", "") if ctx.trust_visitor_ids else ""
    if visitor and ctx.keep_only is not None and visitor not in ctx.keep_only:
        visitor = ""  # no analytics consent in force: the cookieless id
    return Block(1, eid, (ctx.org_id, ctx.site_id, received, ctx.device, ctx.browser, ctx.os), (
        ts, event, visitor or ctx.cookieless_id(), g("session_id", ""), g("magnet_id", ""),
        g("experiment_id", ""), g("variant", ""), url, referrer, *utm,
        cached_channel(referrer, utm[0], utm[1], url if referrer else ""),
        g("country", "").upper() or ctx.country, value, "", flags,
    ), row=True)


Answer = tuple[int, tuple[tuple[bytes, bytes], ...]]  # status and headers of the GIF
OK: Answer = (200, GIF_HEADERS)


def _gif(status: int, **extra: str) -> Answer:
    return status, gif_headers(**extra)


async def answer(intake: Intake, scope: Scope) -> Answer:
    """Status and headers of the GIF for one ``GET /p.gif`` (the event is on disk at 200)."""
    t0 = time.perf_counter()
    f = parse_query(scope["query_string"])
    site = intake.registry.site(f.pop("site", ""))
    if site is None:
        TALLY.reject("unknown_site")
        return _gif(403, x_lodestone_error="unknown site key")
    h = scan_headers(scope["headers"])
    if h.get("dnt") == "1" or h.get("gpc") == "1":
        TALLY.reject("dnt")
        return OK
    client = scope.get("client")
    ip = client[0] if client else ""
    limiter = intake.limiter
    if limiter.uses_redis:
        wait = await limiter.check(site.org_id, ip, 1)
    else:
        wait = limiter.local(site.org_id, ip, 1)
    if wait:
        TALLY.reject("rate_limited")
        return _gif(429, retry_after=retry_after(wait))
    ua = h.get("ua", "")
    browser, os_name, device, bot = parse_user_agent(ua)
    if bot:
        TALLY.reject("bot")
        return OK  # crawlers get their image; the event is dropped and counted
    if "url" not in f:
        f["url"] = h.get("referer", "")
    org_id, salts = site.org_id, intake.salts
    ctx = RequestFacts(site.org_id, site.site_id, now_ms(), browser, os_name, device,
                  h.get("country", "")[:2].upper(), 0, PAST_SKEW_MS_BROWSER,
                  site.consent_mode != "cookieless", lambda: salts.visitor_id(org_id, ip, ua),
                  *intake.registry.visitor_filter(org_id, site.consent_mode, server_side=False))
    block = pixel_block(f, ctx)
    if isinstance(block, str):
        TALLY.reject("invalid")
        return _gif(400, x_lodestone_error=block[:200].encode("ascii", "replace").decode())
    try:
        await intake.spool.submit(block)
    except SpoolFull:
        TALLY.reject("spool_full")
        return _gif(503, retry_after="5")
    except Exception:  # disk error: nothing acknowledged
        TALLY.reject("spool_error")
        return _gif(503, retry_after="1")
    TALLY.accept("pixel", 1, time.perf_counter() - t0)
    return OK


async def handle(intake: Intake, request: Request) -> Response:
    """GET /p.gif as a Starlette endpoint (the API process mounts the collector's routes)."""
    status, headers = await answer(intake, request.scope)
    return Static(GIF, status, headers)


_BODY: Message = {"type": "http.response.body", "body": GIF}


async def serve(intake: Intake, scope: Scope, send: Send) -> None:
    """GET /p.gif as a bare ASGI callable: what the collector's own server runs.

    Starlette's routing and middleware, crossed twice because the answer waits for the
    group commit, cost about as much CPU as the rest of the request (docs/tracking.md).
    """
    try:
        status, headers = await answer(intake, scope)
    except Exception:  # what Starlette's ServerErrorMiddleware would do: log, answer 500
        log.exception("pixel request failed")
        status, headers = 500, GIF_HEADERS
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send(_BODY)
