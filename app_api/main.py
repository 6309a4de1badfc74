"""The Lodestone HTTP server: management/query API plus the collector routes."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from prometheus_client import CollectorRegistry

from app_api.deps import State, route_permission
from app_api.docs_assets import install_docs
from app_api.errors import document_errors, install_error_handlers
from app_api.json_guard import JsonGuardMiddleware
from app_api.limits import BodyLimitMiddleware
from app_api.observability import install_observability
from app_api.prometheus import StoredState, metrics_endpoint
from app_api.routes import (
    ad_spend,
    api_keys,
    audit_log,
    auth,
    brand_kit,
    builds,
    checks,
    consent,
    documents,
    domains,
    drafts,
    embed,
    experiment_actions,
    experiment_planner,
    experiments,
    insights,
    jobs,
    landing,
    leads,
    magnet_workflow,
    magnets,
    mail_links,
    organizations,
    overview,
    privacy,
    publishing,
    share,
    sites,
    stats,
    templates,
    users,
    variants,
    webhook_deliveries,
    webhooks,
)
from content.brand import MAX_LOGO_BYTES
from ingestion.collector import Collector
from jobs.worker import BackgroundWorker as JobWorker
from kernel.metadata import outbox
from kernel.metadata.db import make_engine, make_session_factory
from kernel.settings import Settings, get_settings
from kernel.telemetry import instrument_pool
from kernel.tracing import configure_tracing, trace_engine
from kernel.warehouse import open_warehouse
from publishing.campaigns import queue_due_campaigns
from publishing.mail.sender import make_signer, make_transport
from publishing.mail.worker import MailWorker
from webhooks.worker import BackgroundWorker

log = logging.getLogger(__name__)

# The public pages first: routes are matched in order, and a landing page view should not
# try ~90 API routes before its own (about 1 ms of a 10 ms budget).
ROUTERS = (landing, share, mail_links, embed, auth, organizations, users, api_keys, sites, magnets,
           magnet_workflow, variants, experiments, experiment_actions, leads, webhooks,
           webhook_deliveries, audit_log, ad_spend, stats, experiment_planner, overview,
           insights, publishing, jobs, builds, documents, brand_kit, templates, checks, drafts,
           privacy, consent)

#: Routes anyone may call (they authenticate by themselves or need no identity).
PUBLIC_ROUTES = frozenset({("POST", "/v1/auth/login"), ("POST", "/v1/auth/token"),
                           ("POST", "/v1/auth/logout")})


def api_routes(app: FastAPI) -> list[tuple[str, list[str], APIRoute]]:
    """(full path, methods, route) of every FastAPI route, included routers flattened."""
    out = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute):
            out.append((ctx.path or route.path, sorted(ctx.methods or route.methods or ()), route))
    return out


def check_route_permissions(app: FastAPI) -> None:
    """Refuse to start if an API route neither uses ``authorize`` nor is listed public."""
    for path, methods, route in api_routes(app):
        if not path.startswith("/v1/"):
            continue
        uses, _ = route_permission(route)
        public = all((m, path) in PUBLIC_ROUTES for m in methods)
        if uses == public:
            raise RuntimeError(
                f"route {methods} {path} must either declare a permission "
                "with app_api.deps.Perm* / Authenticated or be listed in PUBLIC_ROUTES")


def document_permissions(app: FastAPI) -> None:
    """Show each operation's permission in OpenAPI (``x-permission`` and its description)."""
    required = {}
    for path, methods, route in api_routes(app):
        uses, permission = route_permission(route)
        for method in methods:
            required[(method.lower(), path)] = (uses, permission)
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = default_openapi()
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                uses, permission = required.get((method, path), (False, None))
                if not uses:
                    continue
                need = f"`{permission}`" if permission else "any signed-in caller"
                operation["x-permission"] = permission
                operation["description"] = (operation.get("description", "")
                                            + f"\n\nRequires: {need}.").strip()
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _warm_up() -> None:
    """Load, once and at low priority, what the first Studio visit would otherwise wait for:
    the readability check's pronouncing dictionary (textstat's CMUdict: ~3-4 s of CPU on
    first use, measured by benchmarks/dashboards.py as a 5 s first Studio page)."""
    from app_api.auth.hashgate import _lower_priority
    from content.quality.readability import grade

    _lower_priority()
    try:
        grade("Warm the syllable dictionary up before anyone waits for it.")
    except Exception:  # a warm-up must never take the API down; the first check pays instead
        logging.getLogger(__name__).warning("warm-up failed", exc_info=True)


def create_app(settings: Settings | None = None, *, with_collector: bool = True,
               webhook_worker: bool | None = None, job_worker: bool | None = None) -> FastAPI:
    """Build the ASGI app. The collector's spool and shipper start with the app.

    Args:
        webhook_worker: Run webhook deliveries in a background thread; None reads
            ``LODESTONE_WEBHOOKS_WORKER`` (default on).
        job_worker: Run durable jobs (builds, drafts) in background threads; None reads
            ``LODESTONE_JOBS_WORKER`` (default on).
    """
    settings = settings or get_settings()
    engine = make_engine(settings.resolved_metadata_url)
    instrument_pool(engine)
    if configure_tracing(settings, "lodestone-api"):
        trace_engine(engine)
    state = State(settings, make_session_factory(engine, settings))
    stored_state = CollectorRegistry(auto_describe=True)
    stored_state.register(StoredState(state.sessions, lambda: open_warehouse(settings)))
    collector = Collector(settings, state.sessions, lambda: open_warehouse(settings))
    run_worker = settings.webhooks_worker if webhook_worker is None else webhook_worker
    worker = BackgroundWorker(
        state.sessions, retention=dt.timedelta(days=settings.webhooks_retention_days),
        allow_private=settings.webhooks_allow_private) if run_worker else None
    mailer = MailWorker(
        state.sessions, lambda: make_transport(settings.smtp_url, settings.data_path),
        settings.mail_from, settings.mail_per_minute, settings.mail_max_attempts,
        before_pass=lambda: queue_due_campaigns(state.sessions, settings),
        signer=make_signer(settings.dkim_selector, settings.dkim_key_file, settings.mail_from),
    ) if settings.mail_worker else None
    run_jobs = settings.jobs_worker if job_worker is None else job_worker
    jobs_worker = JobWorker(state.sessions, settings) if run_jobs else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.env != "test":  # tests start many servers: they would pay it each time
            threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
        if with_collector:
            await collector.start()
        if worker is not None:
            state.wake_webhooks = worker.wake
            outbox.add_commit_listener(worker.wake)
            worker.start()
        if mailer is not None:
            mailer.start()
        if jobs_worker is not None:
            jobs_worker.start()
        try:
            yield
        finally:
            if jobs_worker is not None:
                jobs_worker.stop()
            if mailer is not None:
                mailer.stop()
            if worker is not None:
                outbox.remove_commit_listener(worker.wake)
                worker.stop()
            if with_collector:
                await collector.stop()
            state.pages.close()
            engine.dispose()

    app = FastAPI(
        title="Lodestone API",
        version="0.1.0",
        description=(
            "Lead magnets, tracking, analytics and experiments. Authenticate with an API key "
            "(`Authorization: Bearer ls_live_…`) or sign in at `POST /v1/auth/login`. "
            "Errors are `{\"error\": {\"code\", \"message\", \"details\"}}`; lists are "
            "cursor-paginated (`limit` ≤ 200, pass `next_cursor` back as `cursor`)."
        ),
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served with local assets: app_api/docs_assets.py
    )
    app.state.lodestone = state
    app.state.collector = collector
    app.state.webhook_worker = worker
    app.state.mail_worker = mailer
    install_error_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    app.include_router(ad_spend.upload_router)
    # before the collector's own /metrics: the same metrics plus the product's, guarded
    app.add_route("/metrics", metrics_endpoint(settings, stored_state), methods=["GET"],
                  include_in_schema=False)
    app.add_middleware(JsonGuardMiddleware, exclude={"/v1/events"})  # inside the body limit
    app.add_middleware(BodyLimitMiddleware, limit=settings.api_max_body_bytes,
                       overrides={"/v1/ad-spend/import": settings.api_upload_max_bytes,
                                  brand_kit.LOGO_PATH: MAX_LOGO_BYTES,
                                  checks.KNOWLEDGE_PATH: settings.knowledge_max_bytes},
                       exclude={"/v1/events"})  # the collector's route has its own limit
    if with_collector:
        for route in collector.routes():
            app.router.routes.append(route)
    else:
        app.add_api_route("/healthz", _healthz, methods=["GET"], include_in_schema=False)
    install_observability(app)
    install_docs(app)
    app.include_router(domains.router)  # last: /{magnet slug} on custom domains
    check_route_permissions(app)
    document_permissions(app)
    document_errors(app)
    return app


async def _healthz() -> dict[str, Any]:
    return {"status": "ok"}
