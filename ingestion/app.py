"""The collector-only ASGI app: the pixel as a bare ASGI callable, Starlette for the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.types import ASGIApp

from ingestion.collector import Collector
from kernel.metadata.db import make_engine, make_session_factory
from kernel.settings import Settings, get_settings
from kernel.warehouse import open_warehouse


def create_collector_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or get_settings()
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
    return collector.asgi(app)
