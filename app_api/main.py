"""The Lodestone HTTP server: management/query API plus the collector routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app_api.deps import State
from app_api.errors import install_error_handlers
from app_api.routes import stats
from ingestion.collector import Collector
from kernel.metadata.db import make_engine, make_session_factory
from kernel.settings import Settings, get_settings
from kernel.warehouse import open_warehouse


def create_app(settings: Settings | None = None, *, with_collector: bool = True) -> FastAPI:
    """Build the ASGI app. The collector's spool and shipper start with the app."""
    settings = settings or get_settings()
    engine = make_engine(settings.resolved_metadata_url)
    state = State(settings, make_session_factory(engine))
    collector = Collector(settings, state.sessions, lambda: open_warehouse(settings))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if with_collector:
            await collector.start()
        try:
            yield
        finally:
            if with_collector:
                await collector.stop()
            engine.dispose()

    app = FastAPI(
        title="Lodestone API",
        version="0.1.0",
        description="Lead magnets, tracking, analytics and experiments.",
        lifespan=lifespan,
    )
    app.state.lodestone = state
    app.state.collector = collector
    install_error_handlers(app)
    app.include_router(stats.router)
    if with_collector:
        for route in collector.routes():
            app.router.routes.append(route)
    return app
