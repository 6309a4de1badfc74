"""The collector-only ASGI app: the pixel as a bare ASGI callable, Starlette for the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from ingestion.collector import WARM_UA, Collector
from ingestion.intake import error
from kernel.metadata.db import make_engine, make_session_factory
from kernel.settings import Settings, get_settings
from kernel.telemetry import metrics_refusal
from kernel.tracing import configure_tracing
from kernel.warehouse import open_warehouse


def prefork() -> None:
    """Load what every worker needs before the server forks them, so they share it: the
    Parquet writer, the user-agent parser's compiled regexes (tens of MB per process
    otherwise), the frame codecs. Opens no file, connection or thread (unsafe across fork)."""
    import io

    import pyarrow.parquet as pq

    from ingestion.columns import rows_to_block
    from ingestion.enrich import parse_user_agent
    from ingestion.frames import encode_frame, read_frames  # noqa: F401 - imported to share
    from kernel.events import make_row, rows_to_arrow

    parse_user_agent(WARM_UA)
    encode_frame([rows_to_block([make_row(org_id="warm-up")])])
    pq.write_table(rows_to_arrow([make_row(org_id="warm-up")]), io.BytesIO())


def create_collector_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or get_settings()
    configure_tracing(settings, "lodestone-collector")  # the shipper's spans
    engine = make_engine(settings.resolved_metadata_url)
    collector = Collector(settings, make_session_factory(engine), lambda: open_warehouse(settings))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await collector.start()
        try:
            yield
        finally:
            await collector.stop()
            engine.dispose()

    app = Starlette(routes=collector.routes(), lifespan=lifespan)
    app.state.collector = collector
    return guard_metrics(collector.asgi(app), settings.metrics_token)


def guard_metrics(app: ASGIApp, token: str) -> ASGIApp:
    """Refuse ``GET /metrics`` without the token (or, without one, from another machine)."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/metrics":
            why = metrics_refusal(token, dict(scope["headers"]), scope.get("client"))
            if why:
                refusal = error(401, "unauthorized", why) if token else error(403, "forbidden", why)
                await refusal(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded
