"""The hot path: pixel, browser batches, server batches and the snippet's config.

Every handler does the same few steps, cheapest refusal first: find the site or key
(a dictionary hit), privacy signals, rate limit, validate the whole batch at once, build
one column block, and wait for the group commit's fsync before answering 2xx.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ingestion.columns import Block, RequestFacts, build_block
from ingestion.enrich import SaltStore, parse_user_agent
from ingestion.metrics import TALLY
from ingestion.ratelimit import RateLimiter, retry_after
from ingestion.registry import Registry, SiteInfo
from ingestion.spool import Spool, SpoolFull
from ingestion.validate import (
    EVENT_FIELDS,
    MAX_BODY_BYTES,
    PAST_SKEW_MS_BROWSER,
    PAST_SKEW_MS_SERVER,
    BadRequest,
    decode_batch,
    now_ms,
)
from kernel.credentials import presented_token
from kernel.pii import PIIRefusedError, screen_value
from kernel.schema import FLAG_SERVER_SIDE
from leads.consent import PURPOSE_ANALYTICS, record_consent

PIXEL_FIELDS = frozenset(f for f in EVENT_FIELDS if f != "props")
BOT_REASON = "bot or crawler user agent"
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_json = msgspec.json.Encoder()


class Static(Response):
    """A response whose headers were encoded once, at import (the pixel answers with these).

    Each response gets its own list: ASGI middleware may edit ``message["headers"]`` in place.
    """

    def __init__(self, body: bytes, status: int, headers: tuple[tuple[bytes, bytes], ...]) -> None:
        self.body, self.status_code, self.background = body, status, None
        self.raw_headers = list(headers)


GIF_HEADERS = ((b"content-type", b"image/gif"), (b"cache-control", b"no-store, max-age=0"),
               (b"content-length", str(len(GIF)).encode()))


def gif_headers(**extra: str) -> tuple[tuple[bytes, bytes], ...]:
    """The GIF's headers plus ``extra`` given as keyword arguments (x_a_b -> x-a-b)."""
    if not extra:
        return GIF_HEADERS
    return GIF_HEADERS + tuple((k.replace("_", "-").encode(), v.encode()) for k, v in extra.items())


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """The one JSON error shape: ``{"error": {"code", "message", "details"}}``."""
    body = _json.encode({"error": {"code": code, "message": message, "details": []}})
    return Response(body, status, headers=headers, media_type="application/json")


def _too_large(message: str) -> Response:
    # The rest of the body is never read, so the connection cannot carry another request.
    return error(413, "too_large", message, {"Connection": "close"})


def is_dnt(request: Request) -> bool:
    h = request.headers
    return h.get("dnt") == "1" or h.get("sec-gpc") == "1"


PII_REASON = ("props hold personal data and the organization's PII policy is to refuse it; "
              "remove the email, phone, card or id number from props and send it again")


def _screen_props(events: list[Any], policy: str) -> tuple[list[Any], list[int]]:
    """Personal data in ``props`` redacted in place, or the event refused (kernel.pii);
    only events that carry props are looked at."""
    refused: list[int] = []
    for i, ev in enumerate(events):
        if ev.props:
            try:
                ev.props = screen_value(ev.props, policy, "event")
            except PIIRefusedError:
                refused.append(i)
    if refused:
        gone = set(refused)
        events = [ev for i, ev in enumerate(events) if i not in gone]
    return events, refused


class Intake:
    """Request handlers over one worker's registry, spool, salts and rate limiter."""

    def __init__(self, registry: Registry, spool: Spool, salts: SaltStore,
                 limiter: RateLimiter) -> None:
        self.registry, self.spool, self.salts, self.limiter = registry, spool, salts, limiter
        self.pii_policy = "redact"  # LODESTONE_PII_POLICY, set by the collector

    async def limited(self, org_id: str, ip: str | None, cost: int) -> float:
        """Seconds to wait before retrying (0: go ahead); in-process unless Redis is set."""
        if self.limiter.uses_redis:
            return await self.limiter.check(org_id, ip, cost)
        return self.limiter.local(org_id, ip, cost)

    def _context(self, request: Request, org_id: str, site_id: str, ua: str, *,
                 server_side: bool, trust_ids: bool, consent_mode: str) -> RequestFacts:
        ip = request.client.host if request.client else ""
        browser, os_name, device, _ = parse_user_agent(ua)
        salts = self.salts

        def cookieless() -> str:  # only when an event lacks a usable visitor id
            return salts.visitor_id(org_id, ip, ua)

        country = request.headers.get("cf-ipcountry", "")[:2].upper()
        return RequestFacts(
            org_id, site_id, now_ms(), browser, os_name, device, country,
            FLAG_SERVER_SIDE if server_side else 0,
            PAST_SKEW_MS_SERVER if server_side else PAST_SKEW_MS_BROWSER,
            trust_ids, cookieless,
            *self.registry.visitor_filter(org_id, consent_mode, server_side=server_side),
        )

    async def _persist(self, block: Block) -> Response | None:
        try:
            await self.spool.append(block)
        except SpoolFull as exc:
            TALLY.reject("spool_full", block.n)
            return error(503, "spool_full", f"{exc}; retry later", {"Retry-After": "5"})
        except Exception as exc:  # disk error: nothing acknowledged, the client retries
            TALLY.reject("spool_error", block.n)
            return error(503, "spool_error", f"events could not be stored ({exc}); retry later",
                         {"Retry-After": "1"})
        return None

    # -- POST /e and POST /v1/events -----------------------------------------------------------
    async def _read(self, request: Request) -> bytes | Response:
        """The body, counted as it arrives: past the limit, 413 without reading the rest."""
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            TALLY.reject("too_large")
            return _too_large(f"body is {length} bytes; the limit is {MAX_BODY_BYTES}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:  # a chunked body declares no length: stop at the limit
                TALLY.reject("too_large")
                return _too_large(f"body is over {MAX_BODY_BYTES} bytes; the limit is "
                                  f"{MAX_BODY_BYTES}")
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def browser_batch(self, request: Request) -> Response:
        """POST /e — batched events from the snippet (sendBeacon), CORS per site."""
        return await self._batch(request, server_side=False)

    async def server_batch(self, request: Request) -> Response:
        """POST /v1/events — server-side batches authenticated with an API key."""
        return await self._batch(request, server_side=True)

    def _server_site(self, request: Request, site_key: str) -> tuple[str, str] | Response:
        h = request.headers
        token = presented_token(h.get("authorization", ""), h.get("x-api-key", ""))
        key = self.registry.api_key(token) if token else None
        if key is None:
            TALLY.reject("unauthorized")
            return error(401, "unauthorized", "send a valid API key as 'Authorization: Bearer "
                         "<key>' or 'X-API-Key: <key>'", {"WWW-Authenticate": "Bearer"})
        if "events:write" not in key.scopes:  # the API's rule: a key may do what it lists
            return error(403, "forbidden", "this API key lacks the events:write scope")
        if not site_key:
            return key.org_id, self.registry.default_site(key.org_id)
        s = self.registry.site(site_key)
        if s is None or s.org_id != key.org_id:
            return error(403, "forbidden", "site key does not belong to this API key's organization")
        return key.org_id, s.site_id

    async def _batch(self, request: Request, *, server_side: bool) -> Response:
        t0 = time.perf_counter()
        body = await self._read(request)
        if isinstance(body, Response):
            return body
        try:
            decoded = decode_batch(body)
        except BadRequest as exc:
            TALLY.reject("bad_request")
            return error(exc.status, "bad_request", str(exc))
        headers: dict[str, str] = {}
        site: SiteInfo | None = None
        if server_side:
            found = self._server_site(request, decoded.site)
            if isinstance(found, Response):
                return found
            org_id, site_id = found
        else:
            site = self.registry.site(decoded.site)
            if site is None:
                TALLY.reject("unknown_site", decoded.total)
                return error(401, "unknown_site", "unknown or missing site key in 'site'")
            cors = cors_headers(request, site)
            if cors is None:
                TALLY.reject("origin_not_allowed", decoded.total)
                return error(403, "origin_not_allowed",
                             f"origin {request.headers.get('origin')} is not allowed for this site")
            headers = cors
            if is_dnt(request):
                TALLY.reject("dnt", decoded.total)
                return _answer({"accepted": 0, "rejected": [], "dropped": "dnt"}, headers)
            org_id, site_id = site.org_id, site.site_id
        ip = None if server_side else (request.client.host if request.client else "")
        wait = await self.limited(org_id, ip, max(1, len(decoded.events)))
        if wait:
            TALLY.reject("rate_limited", decoded.total)
            return error(429, "rate_limited", "too many events; slow down and retry",
                         {**headers, "Retry-After": retry_after(wait)})
        TALLY.batch.observe(decoded.total)
        rejected = decoded.rejected
        if rejected:
            TALLY.reject("invalid", len(rejected))
        ua = request.headers.get("user-agent", "")
        events = decoded.events
        if not server_side and events and parse_user_agent(ua)[3]:
            TALLY.reject("bot", len(events))
            positions = decoded.index or list(range(len(events)))
            rejected = rejected + [{"index": i, "reason": BOT_REASON} for i in positions]
            events = []
        accepted = 0
        policy = self.registry.pii_policy(org_id, self.pii_policy)  # once per batch
        refused_pii: list[int] = []
        if events and policy != "off":
            events, refused_pii = _screen_props(events, policy)
            if refused_pii:
                TALLY.reject("personal_data", len(refused_pii))
                index = decoded.index
                rejected = rejected + [{"index": index[i] if index else i, "reason": PII_REASON}
                                       for i in refused_pii]
        if events:
            mode = site.consent_mode if site is not None else self.registry.consent_mode(org_id)
            trust = server_side or mode != "cookieless"
            ctx = self._context(request, org_id, site_id, ua, server_side=server_side,
                                trust_ids=trust, consent_mode=mode)
            block, refused = build_block(events, ctx)
            if refused:
                TALLY.reject("invalid", len(refused))
                index = decoded.index
                rejected = rejected + [{"index": index[i] if index else i, "reason": r} for i, r in refused]
            if block is not None:
                failed = await self._persist(block)
                if failed is not None:
                    failed.headers.update(headers)
                    return failed
                accepted = block.n
        if len(rejected) > 1:
            rejected.sort(key=lambda r: r["index"])  # type: ignore[arg-type,return-value]
        if refused_pii and not accepted:  # nothing taken, personal data among the reasons
            refusal = {"error": {"code": "personal_data", "message": PII_REASON,
                                 "details": rejected}}
            return Response(_json.encode(refusal), 422, headers=headers,
                            media_type="application/json")
        TALLY.accept("server" if server_side else "browser", accepted, time.perf_counter() - t0)
        return _answer({"accepted": accepted, "rejected": rejected}, headers)

    # -- GET /c.json ---------------------------------------------------------------------------
    async def config(self, request: Request, max_age: int) -> Response:
        """GET /c.json?site= — consent mode, today's cookieless id, experiments to assign."""
        found = self._browser_site(request, request.query_params.get("site", ""))
        if isinstance(found, Response):
            return found
        site, headers = found
        ip = request.client.host if request.client else ""
        wait = await self.limited(site.org_id, ip, 0)
        if wait:
            return error(429, "rate_limited", "too many requests", {**headers, "Retry-After": retry_after(wait)})
        unit = "" if is_dnt(request) else self.salts.visitor_id(site.org_id, ip, request.headers.get("user-agent", ""))
        body = (b'{"m":' + _json.encode(site.consent_mode) + b',"v":' + _json.encode(unit)
                + b',"s":' + (b"1" if self.may_store(site, request) else b"0")
                + b',"x":' + self.registry.experiments(site.org_id) + b"}")
        # An answer about a stored id's consent is not kept: a withdrawal counts on the next page.
        asks = site.consent_mode == "consent_required" and "vid" in request.query_params
        headers = {**headers, "Cache-Control": "no-store" if asks else f"private, max-age={max_age}"}
        return Response(body, 200, headers=headers, media_type="application/json")

    def _browser_site(self, request: Request, key: str) -> tuple[SiteInfo, dict[str, str]] | Response:
        """The site of a public site key and its CORS headers, or the 401/403 answer."""
        site = self.registry.site(key)
        if site is None:
            return error(401, "unknown_site", "unknown or missing site key in 'site'")
        headers = cors_headers(request, site)
        if headers is None:
            return error(403, "origin_not_allowed",
                         f"origin {request.headers.get('origin')} is not allowed for this site")
        return site, headers

    def may_store(self, site: SiteInfo, request: Request) -> bool:
        """Whether the snippet may keep (or make) a stored visitor id: ``first_party``
        always, ``consent_required`` while the id it holds (``vid=``) has analytics consent."""
        if site.consent_mode == "first_party":
            return True
        if site.consent_mode != "consent_required":
            return False
        return self.registry.consent.granted(site.org_id, request.query_params.get("vid", ""))

    # -- POST /consent -------------------------------------------------------------------------
    async def consent(self, request: Request) -> Response:
        """POST /consent — ``{"site", "visitor_id", "granted"}`` from ``lodestone.consent()``:
        appends an analytics consent record (source ``banner``), in force at once."""
        body = await self._read(request)
        if isinstance(body, Response):
            return body
        try:
            choice = msgspec.json.decode(body, type=ConsentChoice)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return error(400, "bad_request", f"send {{\"site\", \"visitor_id\", \"granted\"}}: {exc}")
        found = self._browser_site(request, choice.site)
        if isinstance(found, Response):
            return found
        site, headers = found
        if is_dnt(request):  # the snippet sends nothing under DNT / GPC; neither is kept
            return _answer({"consent": "ignored", "reason": "dnt"}, headers)
        ip = request.client.host if request.client else ""
        wait = await self.limited(site.org_id, ip, 1)
        if wait:
            return error(429, "rate_limited", "too many requests",
                         {**headers, "Retry-After": retry_after(wait)})
        await asyncio.to_thread(record_visitor_consent, self.registry, site.org_id,
                                choice.visitor_id, choice.granted)
        return _answer({"consent": "granted" if choice.granted else "denied"}, headers)


class ConsentChoice(msgspec.Struct, forbid_unknown_fields=True):
    site: str
    visitor_id: Annotated[str, msgspec.Meta(min_length=8, max_length=64,
                                            pattern=r"^[A-Za-z0-9_.:-]+$")]
    granted: bool


def record_visitor_consent(registry: Registry, org_id: str, visitor_id: str,
                           granted: bool) -> None:
    """A visitor's own analytics choice as a consent record (blocking; in a thread)."""
    with registry.sessions() as s:
        record_consent(s, org_id, purpose=PURPOSE_ANALYTICS, granted=granted, source="banner",
                       visitor_id=visitor_id)
        s.commit()
    registry.consent.note(org_id, visitor_id, granted)


def _answer(payload: dict[str, object], headers: dict[str, str]) -> Response:
    return Response(_json.encode(payload), 200, headers=headers, media_type="application/json")


def cors_headers(request: Request, site: SiteInfo) -> dict[str, str] | None:
    """CORS headers for an allowed origin ({} without an Origin header), None if refused."""
    origin = request.headers.get("origin")
    if not origin:
        return {}
    if origin in site.allowed_origins or "*" in site.allowed_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return None
