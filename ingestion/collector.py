"""The collector: pixel, snippet and batch endpoints that answer only after an fsync."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingestion import metrics
from ingestion.enrich import SaltStore, channel_for, parse_user_agent
from ingestion.registry import Registry, SiteInfo
from ingestion.shipper import Shipper
from ingestion.spool import Spool, SpoolFull, spool_usage
from ingestion.validate import BadRequest, InEvent, check_event, decode_batch, now_ms, to_row
from kernel.events import Row
from kernel.schema import FLAG_SERVER_SIDE
from kernel.settings import Settings
from kernel.warehouse import Warehouse

log = logging.getLogger(__name__)

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
GIF_HEADERS = {"Cache-Control": "no-store, max-age=0", "Content-Type": "image/gif"}
PIXEL_FIELDS = tuple(f for f in InEvent.__struct_fields__ if f not in ("props", "ts", "value"))
_json = msgspec.json.Encoder()
WARM_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = _json.encode({"error": {"code": code, "message": message, "details": []}})
    return Response(body, status, headers=headers, media_type="application/json")


class Collector:
    """Owns the worker's spool and shipper; exposes Starlette routes."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        warehouse_factory: Callable[[], Warehouse],
    ) -> None:
        self.settings = settings
        self.registry = Registry(session_factory)
        self.warehouse_factory = warehouse_factory
        self.salts = SaltStore(settings.data_path / "salts", settings.secret_key)
        self.spool: Spool | None = None
        self.shipper: Shipper | None = None
        self._ship_task: asyncio.Task[None] | None = None
        self._stopping = False
        self.snippet = Path(__file__).with_name("static").joinpath("s.js").read_bytes()

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        self.spool = Spool(
            s.spool_dir, commit_ms=s.spool_commit_ms, segment_bytes=s.spool_segment_bytes,
            seal_ms=s.spool_seal_ms, quota_bytes=s.spool_quota_bytes,
        )
        self.shipper = Shipper(s.spool_dir, self.warehouse_factory, own_slot_dir=self.spool.dir)
        await asyncio.to_thread(self.registry.reload)
        await asyncio.to_thread(self._warm_up)
        self._ship_task = asyncio.create_task(self._ship_loop())
        log.info("collector started on spool slot %d", self.spool.slot)

    def _warm_up(self) -> None:
        """Pay one-time costs (regex compilation, Parquet writer, warehouse) before traffic."""
        parse_user_agent(WARM_UA)
        assert self.shipper is not None
        self.shipper.warm_up()

    async def _ship_loop(self) -> None:
        assert self.spool is not None and self.shipper is not None
        while not self._stopping:
            await asyncio.sleep(0.1)
            self.spool.seal_if_due()
            try:
                n = await asyncio.to_thread(self.shipper.ship_once)
            except Exception:  # never let the loop die
                log.exception("shipper crashed; continuing")
                continue
            if n:
                metrics.SHIPPED.inc(n)
            segments, size = spool_usage(self.settings.spool_dir)
            metrics.SPOOL_SEGMENTS.set(segments)
            metrics.SPOOL_BYTES.set(size)
            metrics.SHIP_LAG.set(self.shipper.stats.lag_seconds)

    async def stop(self) -> None:
        """Drain: finish pending commits, seal, ship what we can, release the slot."""
        self._stopping = True
        if self._ship_task:
            await self._ship_task
        if self.spool and self.shipper:
            await self.spool.drain()
            try:
                await asyncio.to_thread(self.shipper.ship_once)
            except Exception:
                log.exception("final shipping failed; segments stay in the spool")
            self.shipper.close()
            self.spool.close()

    # -- helpers -------------------------------------------------------------------------------
    def _client(self, request: Request) -> tuple[str, str]:
        ip = request.client.host if request.client else ""
        return ip, request.headers.get("user-agent", "")

    def _rows(
        self, events: list[InEvent | str], site: SiteInfo | None, org_id: str, site_id: str,
        request: Request, server_side: bool,
    ) -> tuple[list[Row], list[dict[str, object]]]:
        ip, ua = self._client(request)
        browser, os_name, device, is_bot = parse_user_agent(ua)
        received = now_ms()
        country = request.headers.get("cf-ipcountry", "")
        rows: list[Row] = []
        rejected: list[dict[str, object]] = []
        cookieless_id = ""
        for i, ev in enumerate(events):
            reason = ev if isinstance(ev, str) else check_event(ev)
            if reason is None and is_bot and not server_side:
                reason = "bot or crawler user agent"
            if reason is not None or isinstance(ev, str):
                rejected.append({"index": i, "reason": reason})
                metrics.REJECTED.labels("bot" if is_bot else "invalid").inc()
                continue
            visitor = ev.visitor_id
            if not visitor or (site is not None and site.consent_mode == "cookieless" and not server_side):
                if not cookieless_id:
                    cookieless_id = self.salts.visitor_id(org_id, ip, ua)
                visitor = cookieless_id
            row = to_row(
                ev, org_id=org_id, site_id=site_id, received_ms=received, visitor_id=visitor,
                channel=channel_for(ev.referrer, ev.utm_source, ev.utm_medium, ev.url),
                browser=browser, os_name=os_name, device=device, country=country,
                server_side=server_side, extra_flags=FLAG_SERVER_SIDE if server_side else 0,
            )
            if isinstance(row, str):
                rejected.append({"index": i, "reason": row})
                metrics.REJECTED.labels("invalid").inc()
            else:
                rows.append(row)
        return rows, rejected

    async def _persist(self, rows: list[Row]) -> Response | None:
        assert self.spool is not None
        if not rows:
            return None
        try:
            await self.spool.append(rows)
        except SpoolFull as exc:
            metrics.REJECTED.labels("spool_full").inc(len(rows))
            return _error(503, "spool_full", f"{exc}; retry later", {"Retry-After": "5"})
        return None

    def _cors(self, request: Request, site: SiteInfo) -> dict[str, str] | None:
        origin = request.headers.get("origin")
        if not origin:
            return {}
        if origin in site.allowed_origins or "*" in site.allowed_origins:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return None

    # -- endpoints -----------------------------------------------------------------------------
    async def pixel(self, request: Request) -> Response:
        """GET /p.gif — a 1x1 GIF; the event's fields are in the query string."""
        t0 = time.perf_counter()
        q = request.query_params
        site = self.registry.site(q.get("site", ""))
        if site is None:
            metrics.REJECTED.labels("unknown_site").inc()
            return Response(GIF, 403, headers={**GIF_HEADERS, "X-Lodestone-Error": "unknown site key"})
        if request.headers.get("dnt") == "1" or request.headers.get("sec-gpc") == "1":
            metrics.REJECTED.labels("dnt").inc()
            return Response(GIF, 200, headers=GIF_HEADERS)
        fields = {k: q[k] for k in PIXEL_FIELDS if k in q}
        fields.setdefault("event", "pageview")
        if "url" not in fields:
            fields["url"] = request.headers.get("referer", "")
        ev: InEvent | str
        try:
            parsed = msgspec.convert(fields, InEvent)
            if "value" in q:
                parsed = msgspec.structs.replace(parsed, value=float(q["value"]))
            if "ts" in q:
                parsed = msgspec.structs.replace(parsed, ts=float(q["ts"]))
            ev = parsed
        except (msgspec.ValidationError, ValueError) as exc:
            ev = f"invalid query parameter: {exc}"
        rows, rejected = self._rows([ev], site, site.org_id, site.site_id, request, False)
        if rejected and not rows:
            return Response(GIF, 400, headers={**GIF_HEADERS, "X-Lodestone-Error": str(rejected[0]["reason"])[:200]})
        failed = await self._persist(rows)
        if failed is not None:
            return Response(GIF, 503, headers={**GIF_HEADERS, "Retry-After": "5"})
        metrics.ACCEPTED.labels("pixel").inc(len(rows))
        metrics.LATENCY.labels("pixel").observe(time.perf_counter() - t0)
        return Response(GIF, 200, headers=GIF_HEADERS)

    async def _batch(self, request: Request, server_side: bool) -> Response:
        t0 = time.perf_counter()
        endpoint = "server" if server_side else "browser"
        length = int(request.headers.get("content-length") or 0)
        if length > 1024 * 1024:
            return _error(413, "too_large", f"body is {length} bytes; the limit is 1048576")
        body = await request.body()
        try:
            site_key, events = decode_batch(body)
        except BadRequest as exc:
            metrics.REJECTED.labels("bad_request").inc()
            return _error(exc.status, "bad_request", str(exc))
        headers: dict[str, str] = {}
        site: SiteInfo | None = None
        if server_side:
            auth = request.headers.get("authorization", "")
            key = self.registry.api_key(auth.removeprefix("Bearer ").strip()) if auth else None
            if key is None:
                return _error(401, "unauthorized", "send a valid API key as 'Authorization: Bearer <key>'")
            if key.scopes and "events:write" not in key.scopes:
                return _error(403, "forbidden", "this API key lacks the events:write scope")
            org_id = key.org_id
            site_id = self.registry.default_site(org_id)
            if site_key:
                s = self.registry.site(site_key)
                if s is None or s.org_id != org_id:
                    return _error(403, "forbidden", "site key does not belong to this API key's organization")
                site_id = s.site_id
        else:
            site = self.registry.site(site_key)
            if site is None:
                return _error(401, "unknown_site", "unknown or missing site key in 'site'")
            cors = self._cors(request, site)
            if cors is None:
                return _error(403, "origin_not_allowed", f"origin {request.headers.get('origin')} is not allowed for this site")
            headers = cors
            if request.headers.get("dnt") == "1" or request.headers.get("sec-gpc") == "1":
                metrics.REJECTED.labels("dnt").inc(len(events))
                return JSONResponse({"accepted": 0, "rejected": [], "dropped": "dnt"}, headers=headers)
            org_id, site_id = site.org_id, site.site_id
        metrics.BATCH_SIZE.observe(len(events))
        rows, rejected = self._rows(events, site, org_id, site_id, request, server_side)
        failed = await self._persist(rows)
        if failed is not None:
            return failed
        metrics.ACCEPTED.labels(endpoint).inc(len(rows))
        metrics.LATENCY.labels(endpoint).observe(time.perf_counter() - t0)
        payload = _json.encode({"accepted": len(rows), "rejected": rejected})
        return Response(payload, 200, headers=headers, media_type="application/json")

    async def browser_batch(self, request: Request) -> Response:
        """POST /e — batched events from the snippet (sendBeacon), CORS per site."""
        return await self._batch(request, server_side=False)

    async def server_batch(self, request: Request) -> Response:
        """POST /v1/events — server-side batches authenticated with an API key."""
        return await self._batch(request, server_side=True)

    async def preflight(self, request: Request) -> Response:
        origin = request.headers.get("origin", "")
        allowed = any(
            origin in s.allowed_origins or "*" in s.allowed_origins
            for s in self.registry._fresh().sites.values()
        )
        if not allowed:
            return Response(status_code=403)
        return Response(status_code=204, headers={
            "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        })

    async def script(self, request: Request) -> Response:
        """GET /s.js — the tracking snippet."""
        return Response(self.snippet, media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=3600"})

    async def healthz(self, request: Request) -> Response:
        segments, size = spool_usage(self.settings.spool_dir)
        ok = self.spool is not None and not self._stopping
        return JSONResponse({"status": "ok" if ok else "starting", "spool_segments": segments,
                             "spool_bytes": size}, status_code=200 if ok else 503)

    async def prometheus(self, request: Request) -> Response:
        body, ctype = metrics.render()
        return Response(body, media_type=ctype)

    def routes(self) -> list[Route]:
        return [
            Route("/p.gif", self.pixel, methods=["GET"]),
            Route("/e", self.browser_batch, methods=["POST"]),
            Route("/e", self.preflight, methods=["OPTIONS"]),
            Route("/v1/events", self.server_batch, methods=["POST"]),
            Route("/s.js", self.script, methods=["GET"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/metrics", self.prometheus, methods=["GET"]),
        ]
