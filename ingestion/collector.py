"""The collector: pixel, snippet and batch endpoints that answer only after an fsync.

One :class:`Collector` per worker process owns a spool slot, a shipper and a background
loop that seals segments, ships them, refreshes the registry off the event loop, destroys
expired salts and folds the request tallies into Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ingestion import metrics, pixel
from ingestion.columns import rows_to_block
from ingestion.enrich import SaltStore, parse_user_agent
from ingestion.frames import ARROW_MIN_ROWS, encode_frame, read_table
from ingestion.intake import GIF, GIF_HEADERS, Intake, Static, error
from ingestion.orphan import watch_parent
from ingestion.ratelimit import Limit, RateLimiter
from ingestion.registry import Registry
from ingestion.shipper import Shipper
from ingestion.snippet import Asset, load_assets
from ingestion.spool import Spool, spool_usage
from kernel.events import Row, make_row
from kernel.metadata import revisions
from kernel.settings import Settings
from kernel.warehouse import Warehouse
from leads import consent

log = logging.getLogger(__name__)

WARM_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
SWITCH_INTERVAL_S = 0.001
#: Cyclic garbage collector thresholds of a worker. With Python's default (a young-generation
#: pass every 700 net container allocations) a worker under pixel load ran ~90 passes a
#: second, each rescanning the live requests waiting for their group commit (0.5 ms per
#: pass, 1.8 ms per second-generation pass): 6 % of its time. Requests free what they
#: allocate, so at 50,000 a loaded worker ran no pass at all (docs/tracking.md), and the
#: garbage that cycles can leave stays bounded by the threshold.
GC_THRESHOLD = (50_000, 10, 10)
SNIPPET_CACHE = {"current": "public, max-age=86400", "pinned": "public, max-age=31536000, immutable"}


class Collector:
    """Owns the worker's spool and shipper; exposes Starlette routes."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        warehouse_factory: Callable[[], Warehouse],
    ) -> None:
        self.settings = settings
        self.registry = Registry(session_factory, inline_reload=False)
        self.warehouse_factory = warehouse_factory
        self.salts = SaltStore(settings.data_path / "salts", settings.secret_key)
        self.spool: Spool | None = None
        self.shipper: Shipper | None = None
        self.intake: Intake | None = None
        self.limiter: RateLimiter | None = None
        self._ship_task: asyncio.Task[None] | None = None
        self._stopping = False
        self.assets: dict[int, Asset] = load_assets()
        self.current = self.assets[max(self.assets)] if self.assets else None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        self.spool = Spool(
            s.spool_dir, commit_ms=s.spool_commit_ms, segment_bytes=s.spool_segment_bytes,
            seal_ms=s.spool_seal_ms, quota_bytes=s.spool_quota_bytes,
        )
        self.shipper = Shipper(s.spool_dir, self.warehouse_factory, own_slot_dir=self.spool.dir)
        self.limiter = RateLimiter(
            Limit(s.rate_limit_org_eps, s.rate_limit_org_burst),
            Limit(s.rate_limit_ip_rps, s.rate_limit_ip_burst),
            redis_url=s.redis_url, secret=s.secret_key,
        )
        self.intake = Intake(self.registry, self.spool, self.salts, self.limiter)
        self.intake.pii_policy = self.settings.pii_policy
        await asyncio.to_thread(self.registry.reload)
        await asyncio.to_thread(self.registry.consent.load)
        revisions.add_change_listener(self.registry.reload)  # this process's own commits
        consent.RECORDED.connect(self.registry.consent.tail)  # a grant counts at once
        await asyncio.to_thread(self._warm_up)
        self._ship_task = asyncio.create_task(self._ship_loop())
        watch_parent(asyncio.get_running_loop(), self.stop)  # die with a killed supervisor
        # Everything loaded so far lives as long as the process: keep it out of the cyclic
        # collector's full passes, which otherwise rescan it while requests wait.
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLD)
        # The spool writer and the shipper release the GIL around every fsync and in C++
        # (Arrow, Parquet); to get it back they wait for the busy event loop's thread to
        # reach a switch point, 5 ms by default, which adds up along a group commit.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        log.info("collector started on spool slot %d", self.spool.slot)

    def _warm_up(self) -> None:
        """Pay one-time costs (regex compilation, Parquet writer, warehouse) before traffic."""
        parse_user_agent(WARM_UA)
        block = rows_to_block([make_row(org_id="warm-up")])
        for n in (1, ARROW_MIN_ROWS):  # both frame formats, and reading them back
            frame = encode_frame([block] * n)
            with tempfile.NamedTemporaryFile(suffix=".sealed") as fh:
                fh.write(frame)
                fh.flush()
                read_table([Path(fh.name)])
        assert self.shipper is not None
        try:
            self.shipper.warm_up()
        except Exception:  # the warehouse may be down: accept events anyway, ship later
            log.exception("warehouse unavailable at start-up; events wait in the spool")

    async def _ship_loop(self) -> None:
        assert self.spool is not None and self.shipper is not None
        interval = self.settings.ship_interval_ms / 1000.0
        last_housekeeping = 0.0
        while not self._stopping:
            await asyncio.sleep(interval)
            try:
                await self._ship_round()
                if time.monotonic() - last_housekeeping > 1.0:
                    last_housekeeping = time.monotonic()
                    await asyncio.to_thread(self._housekeeping)
            except Exception:  # never let the loop die
                log.exception("ship loop iteration failed; continuing")

    async def _ship_round(self) -> None:
        assert self.spool is not None and self.shipper is not None
        self.spool.seal_if_due()
        failures = self.shipper.stats.failures
        n = await asyncio.to_thread(self.shipper.ship_once)
        if n:
            metrics.SHIPPED.inc(n)
        if self.shipper.stats.failures > failures:
            metrics.SHIP_FAILURES.inc(self.shipper.stats.failures - failures)
        metrics.TALLY.flush()

    def _housekeeping(self) -> None:
        """Once a second, off the event loop: registry, salts, gauges, idle rate buckets."""
        assert self.shipper is not None and self.limiter is not None
        self.registry.refresh()
        self.salts.destroy_old()
        self.limiter.prune()
        segments, size = spool_usage(self.settings.spool_dir)
        metrics.SPOOL_SEGMENTS.set(segments)
        metrics.SPOOL_BYTES.set(size)
        metrics.SHIP_LAG.set(self.shipper.stats.lag_seconds)

    async def stop(self) -> None:
        """Drain: finish pending commits, seal, ship what we can, release the slot."""
        self._stopping = True
        revisions.remove_change_listener(self.registry.reload)
        consent.RECORDED.disconnect(self.registry.consent.tail)
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
        if self.limiter is not None:
            await self.limiter.close()
        metrics.TALLY.flush()
        metrics.process_exiting()

    async def record_server_events(self, rows: Sequence[Row]) -> None:
        """Append events this process made itself (the landing pages' ``magnet_view``,
        ``exposure``, ``lead``, ``confirmed``, ``download``) to the spool; durable when this
        returns, shipped like every other event.

        Raises:
            RuntimeError: the collector is not started.
            SpoolFull: the spool is over its quota.
        """
        if self.spool is None:
            raise RuntimeError("the collector is not started")
        started = time.perf_counter()
        block = rows_to_block(list(rows))
        await self.spool.append(block)
        metrics.TALLY.accept("pages", block.n, time.perf_counter() - started)

    # -- small endpoints -----------------------------------------------------------------------
    def _snippet(self, request: Request, asset: Asset | None, cache: str) -> Response:
        if asset is None:
            return error(404, "not_found", "no such snippet version")
        headers = {"ETag": asset.etag, "Cache-Control": cache, "Vary": "Accept-Encoding",
                   "Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        body = asset.body
        if "gzip" in request.headers.get("accept-encoding", ""):
            body, headers["Content-Encoding"] = asset.gzipped, "gzip"
        return Response(body, headers=headers, media_type="application/javascript")

    async def script(self, request: Request) -> Response:
        """GET /s.js — the current snippet version (ETag, revalidated daily)."""
        return self._snippet(request, self.current, SNIPPET_CACHE["current"])

    async def script_version(self, request: Request) -> Response:
        """GET /s/vN.js — one published snippet version, immutable (SRI-pinnable)."""
        # ASCII digits, at most 9: int() of thousands of digits raised (a 500), and \d
        # matches other scripts' digits too.
        m = re.fullmatch(r"v([0-9]{1,9})\.js", request.path_params["name"])
        asset = self.assets.get(int(m.group(1))) if m else None
        return self._snippet(request, asset, SNIPPET_CACHE["pinned"])

    async def config(self, request: Request) -> Response:
        """GET /c.json?site= — consent mode, cookieless id and experiments for the snippet."""
        assert self.intake is not None
        return await self.intake.config(request, int(self.settings.config_max_age_s))

    async def consent_choice(self, request: Request) -> Response:
        """POST /consent — the snippet's ``lodestone.consent()``: an analytics consent record."""
        assert self.intake is not None
        return await self.intake.consent(request)

    async def preflight(self, request: Request) -> Response:
        """OPTIONS /e — CORS preflight for origins some site allows."""
        origin = request.headers.get("origin", "")
        if not origin or not self.registry.any_origin_allowed(origin):
            return Response(status_code=403)
        return Response(status_code=204, headers={
            "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        })

    async def healthz(self, request: Request) -> Response:
        """GET /healthz — 200 while accepting events (503 starting, stopping or spool full)."""
        segments, size = spool_usage(self.settings.spool_dir)
        status = "ok"
        if self.spool is None or self._stopping:
            status = "starting" if self.spool is None else "stopping"
        elif size >= self.settings.spool_quota_bytes or self.spool.near_full():
            status = "spool_full"
        stats = self.shipper.stats if self.shipper else None
        return JSONResponse({
            "status": status, "spool_segments": segments, "spool_bytes": size,
            "shipping": "failing" if stats and stats.last_error else "ok",
            "shipping_error": stats.last_error if stats else "",
            "shipping_lag_seconds": round(stats.lag_seconds, 3) if stats else 0.0,
        }, status_code=200 if status == "ok" else 503)

    async def prometheus(self, request: Request) -> Response:
        """GET /metrics — Prometheus exposition (aggregated over workers)."""
        body, ctype = metrics.render()
        return Response(body, media_type=ctype)

    def _intake(self, name: str) -> Callable[[Request], object]:
        async def handler(request: Request) -> Response:
            assert self.intake is not None, "collector not started"
            result: Response = await getattr(self.intake, name)(request)
            return result

        handler.__doc__ = getattr(Intake, name).__doc__
        return handler

    def routes(self) -> list[Route]:
        return [
            Route("/p.gif", self._pixel, methods=["GET"]),
            Route("/e", self._intake("browser_batch"), methods=["POST"]),
            Route("/e", self.preflight, methods=["OPTIONS"]),
            Route("/v1/events", self._intake("server_batch"), methods=["POST"]),
            Route("/s.js", self.script, methods=["GET"]),
            Route("/s/{name}", self.script_version, methods=["GET"]),
            Route("/c.json", self.config, methods=["GET"]),
            Route("/consent", self.consent_choice, methods=["POST"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/metrics", self.prometheus, methods=["GET"]),
        ]

    async def _pixel(self, request: Request) -> Response:
        """GET /p.gif — a 1x1 GIF; the event's fields are in the query string.

        HEAD gets the GIF's headers and records nothing: link checkers and mail scanners
        probe with HEAD, a person's client never does.
        """
        assert self.intake is not None, "collector not started"
        if request.method == "HEAD":
            return Static(GIF, 200, GIF_HEADERS)
        return await pixel.handle(self.intake, request)

    def asgi(self, app: ASGIApp) -> ASGIApp:
        """``app`` with the hot endpoints answered by bare ASGI callables in front of it.

        The collector's own server runs this: ``GET /p.gif``, ``POST /e`` and
        ``POST /v1/events`` skip Starlette's middleware and router (crossed twice per request,
        because the answer waits for the group commit); ``app`` (Starlette, with
        :meth:`routes`) answers everything else, and these too while the collector is not
        started.
        """
        batches = {"/e": "browser_batch", "/v1/events": "server_batch"}

        async def front(scope: Scope, receive: Receive, send: Send) -> None:
            intake = self.intake
            if scope["type"] == "http" and intake is not None:
                path, method = scope["path"], scope["method"]
                if path == "/p.gif" and method == "GET":
                    await pixel.serve(intake, scope, send)
                    return
                if method == "POST" and path in batches:
                    await _serve_batch(getattr(intake, batches[path]), scope, receive, send)
                    return
            await app(scope, receive, send)

        return front


async def _serve_batch(handler: Callable[[Request], Awaitable[Response]], scope: Scope,
                       receive: Receive, send: Send) -> None:
    """One batch request without Starlette's stack; an unexpected error is a JSON 500."""
    try:
        response = await handler(Request(scope, receive))
    except Exception:  # what ServerErrorMiddleware would do, in the one error shape
        log.exception("batch request failed")
        response = error(500, "internal", "the collector failed to handle this batch; retry")
    await response(scope, receive, send)
