"""What the public publishing pages may use: an organization's scoped session, the
collector's durable event path, the rate-limit counter, settings.

Landing, confirm, download and unsubscribe pages have no signed-in caller, so they get no
``Context``; :class:`Public` gives them the same tenant scope instead, chosen by the
organization's slug in the URL or by the organization inside a signed link.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import anyio.from_thread
import sqlalchemy as sa
from fastapi import Depends, Request

from app_api.deps import State, client_ip, get_state
from app_api.tenancy import TenantSession
from ingestion.collector import Collector
from kernel.errors import NotFoundError
from kernel.events import Row
from kernel.metadata.audit import hash_ip
from kernel.metadata.models import Organization
from kernel.settings import Settings
from leads.consent import PURPOSE_ANALYTICS, record_consent
from publishing.events import is_bot
from publishing.links import Links
from publishing.page_cache import LandingCache

log = logging.getLogger(__name__)


class Public:
    """Per-request access for public pages (built by :func:`get_public`)."""

    def __init__(self, state: State, collector: Collector | None, request: Request) -> None:
        self._app_state, self._collector, self.request = state, collector, request

    @property
    def settings(self) -> Settings:
        return self._app_state.settings

    @property
    def pages(self) -> LandingCache:
        """This process's cache of landing-page snapshots."""
        return self._app_state.pages

    def links(self) -> Links:
        """URL builder on ``LODESTONE_PUBLIC_URL`` or the URL the request came in on."""
        return Links(str(self.request.base_url), self.settings)

    def facts(self) -> dict[str, Any]:
        """Request facts the page events carry (user agent, country header)."""
        h = self.request.headers
        return {"user_agent": h.get("user-agent", "")[:512], "country": h.get("cf-ipcountry", "")}

    @property
    def ip_hash(self) -> str:
        return hash_ip(client_ip(self.request), self.settings.secret_key) or ""

    @contextmanager
    def org_by_slug(self, slug: str) -> Iterator[tuple[Organization, TenantSession]]:
        """The organization ``slug`` and a session scoped to it (NotFoundError if none)."""
        with self._app_state.sessions() as session:
            org = session.scalar(sa.select(Organization).where(Organization.slug == slug))
            if org is None:
                raise NotFoundError("organization", slug)
            yield org, TenantSession(session, org.id)

    @contextmanager
    def org_by_id(self, org_id: str) -> Iterator[tuple[Organization, TenantSession]]:
        """The organization named inside a signed link, and a session scoped to it."""
        with self._app_state.sessions() as session:
            org = session.get(Organization, org_id)
            if org is None:
                raise NotFoundError("organization", org_id)
            yield org, TenantSession(session, org.id)

    def cookieless_visitor(self, org_id: str) -> str:
        """The collector's cookieless visitor id for this request (daily keyed hash of
        IP and user agent; the IP is never kept), as the snippet would get it."""
        ua = self.request.headers.get("user-agent", "")
        if self._collector is None:
            return ""
        return self._collector.salts.visitor_id(org_id, client_ip(self.request), ua)

    def analytics_consent(self, org_id: str, visitor_id: str) -> bool | None:
        """The visitor's analytics consent in force (True granted, False withdrawn, None
        never recorded), from the in-process collector's copy of the consent records."""
        if self._collector is None:
            return None
        return self._collector.registry.consent.get(org_id, visitor_id)

    def record_analytics_consent(self, org_id: str, visitor_id: str, granted: bool) -> None:
        """The banner's choice as a consent record (blocking: call it in a thread)."""
        with self._app_state.sessions() as session:
            record_consent(session, org_id, purpose=PURPOSE_ANALYTICS, granted=granted,
                           source="banner", visitor_id=visitor_id)
            session.commit()
        if self._collector is not None:
            self._collector.registry.consent.note(org_id, visitor_id, granted)

    def hit(self, key: str, window_s: int) -> tuple[int, float]:
        """Count one request against ``key`` (shared through Redis when configured)."""
        return self._app_state.counter.incr(key, window_s)

    def _recordable(self, rows: Sequence[Row]) -> bool:
        if not rows or is_bot(self.request.headers.get("user-agent", "")):
            return False  # the collector drops crawlers' events; so do the pages
        if self._collector is None or self._collector.spool is None:
            log.warning("collector not running in this process: %d page events not recorded",
                        len(rows))
            return False
        return True

    def record(self, rows: Sequence[Row]) -> None:
        """Append server-made events through the collector's spool (durable on return).

        Called from a route running in a worker thread; the spool lives on the event loop.
        """
        if self._recordable(rows):
            assert self._collector is not None
            anyio.from_thread.run(self._collector.record_server_events, list(rows))

    async def record_async(self, rows: Sequence[Row]) -> None:
        """:meth:`record` for a route running on the event loop."""
        if self._recordable(rows):
            assert self._collector is not None
            await self._collector.record_server_events(list(rows))


async def get_public(request: Request, state: Annotated[State, Depends(get_state)]) -> Public:
    collector = getattr(request.app.state, "collector", None)
    return Public(state, collector, request)


PublicDep = Annotated[Public, Depends(get_public)]
