"""What a landing page needs from the metadata database, cached per process.

A view of a landing page used to cost five queries (organization, magnet, experiment,
variants, artifact). Everything they return changes only when someone edits the magnet,
its variants, its experiment, its site, its organization or builds it, and every such
flush bumps the organization's ``config_revision`` (``kernel.metadata.revisions``). So a
:class:`LandingCache` keeps one immutable :class:`LandingSnapshot` per page and drops them
all when this process commits such a change (a revision listener) or when another process
did (the revision fingerprint, checked at most once per ``check_every_s``). A view then
runs no query at all; the per-visitor parts (variant, form token, CSP nonce) are computed
per request and spliced into the page pre-rendered per variant.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from experiments.assignment import assign
from ingestion.registry import experiment_config
from kernel.errors import DomainError, NotFoundError
from kernel.metadata import revisions
from kernel.metadata.models import Organization, Site
from leads.consent import form_consents
from publishing.delivery import artifact_for
from publishing.embed import site_origins
from publishing.landing import (
    Assignment,
    MagnetGoneError,
    PageContent,
    live_experiment,
    page_content,
    published_magnet,
)
from publishing.links import privacy_url

MAX_RENDERED = 32  # pre-rendered pages per snapshot (variants x hosts), then render per view


@dataclass(frozen=True)
class LandingSnapshot:
    """One published magnet's landing page, as the database said at ``revision``."""

    org_id: str
    org_slug: str
    org_name: str
    consent_mode: str
    privacy_url: str
    robots: str
    magnet_id: str
    magnet_slug: str
    site_id: str
    double_opt_in: bool
    accent: str
    build_id: str  # the newest build with files, '' before the first
    frame_origins: tuple[str, ...]
    experiment: dict[str, Any] | None  # ingestion.registry.experiment_config
    contents: dict[str, PageContent]  # per variant key; '' = no experiment / control
    rendered: dict[tuple[str, str], str] = field(default_factory=dict, compare=False)

    @property
    def has_artifact(self) -> bool:
        return bool(self.build_id)

    @property
    def share_version(self) -> str:
        """Names the share image's version in its URL: a new build or headline, a new URL."""
        raw = f"{self.build_id}\x00{self.content('').headline}".encode()
        return hashlib.sha256(raw).hexdigest()[:12]

    def assignment(self, visitor_id: str) -> Assignment:
        """The visitor's arm, exactly as the snippet computes it from the same config."""
        cfg = self.experiment
        if cfg is None or not visitor_id:
            return Assignment()
        variant = assign(cfg["k"], visitor_id, cfg["v"], cfg["w"], cfg["c"])
        return Assignment(cfg["k"], variant or "", bool(cfg.get("p")))

    def content(self, variant: str) -> PageContent:
        return self.contents.get(variant) or self.contents[""]

    def pre_rendered(self, variant: str, base: str, render: Callable[[], str]) -> str:
        """The page for ``variant`` on ``base`` with placeholders for the per-visitor
        parts, rendered once (at most ``MAX_RENDERED`` kept: the Host header is the
        client's to choose)."""
        key = (variant, base)
        page = self.rendered.get(key)
        if page is None:
            page = render()
            if len(self.rendered) < MAX_RENDERED:
                self.rendered[key] = page
        return page


def load_snapshot(session: Session, org: Organization, magnet_slug: str) -> LandingSnapshot:
    """Read one page's snapshot (raises NotFoundError / MagnetGoneError as the page does)."""
    magnet = published_magnet(session, org.id, magnet_slug)
    experiment = live_experiment(session, magnet)
    cfg = experiment_config(experiment) if experiment is not None else None
    keys = {""} | {v.key for v in magnet.variants}
    artifact = artifact_for(session, magnet)
    design = magnet.design or {}
    settings = org.settings or {}
    robots = settings.get("robots")
    purposes = form_consents(session, org.id)  # the form's consent boxes
    return LandingSnapshot(
        org_id=org.id, org_slug=org.slug, org_name=org.name, consent_mode=str(org.consent_mode),
        privacy_url=privacy_url(org),
        robots=robots if isinstance(robots, str) and robots else "index,follow",
        magnet_id=magnet.id, magnet_slug=magnet.slug, site_id=magnet.site_id or "",
        double_opt_in=magnet.double_opt_in,
        accent=str(design.get("accent") or "#1d4ed8"),
        build_id=artifact.build_id if artifact is not None else "",
        frame_origins=tuple(site_origins(session, magnet)), experiment=cfg,
        contents={k: page_content(magnet, k, purposes) for k in keys})


class LandingCache:
    """Snapshots of landing pages for one process, dropped on any config revision."""

    def __init__(self, sessions: sessionmaker[Session], *, check_every_s: float = 1.0) -> None:
        self.sessions = sessions
        self.check_every_s = check_every_s
        self._pages: dict[tuple[str, str], LandingSnapshot | DomainError] = {}
        self._domains: dict[str, tuple[str, str]] | None = None  # host -> (site id, org slug)
        self._revision: tuple[int, int] | None = None
        self._checked = 0.0
        self._generation = 0  # moves on every clear: a load racing a commit is not kept
        self._lock = threading.Lock()
        revisions.add_change_listener(self.clear)

    def close(self) -> None:
        revisions.remove_change_listener(self.clear)

    def clear(self) -> None:
        self._generation += 1
        self._pages, self._domains = {}, None

    def domain(self, host: str) -> tuple[str, str] | None:
        """(site id, organization slug) of the site whose custom domain is ``host``
        (blocking when the map must be read; call it off the event loop)."""
        host = host.strip().lower().rstrip(".")
        with self._lock:
            with self.sessions() as session:
                self._current(session)
                domains = self._domains
                if domains is None:
                    generation = self._generation
                    domains = {str(d): (site_id, slug) for d, site_id, slug in session.execute(
                        sa.select(Site.custom_domain, Site.id, Organization.slug)
                        .join(Organization, Organization.id == Site.org_id)
                        .where(Site.custom_domain.is_not(None)))}
                    if generation == self._generation:
                        self._domains = domains
        return domains.get(host)

    def _current(self, session: Session) -> None:
        now = time.monotonic()
        if now - self._checked < self.check_every_s:
            return
        revision = revisions.fingerprint(session)
        self._checked = now
        if revision != self._revision:
            self._revision = revision
            self.clear()

    def cached(self, org_slug: str, magnet_slug: str) -> LandingSnapshot | None:
        """The snapshot if it is cached and the revision was checked recently (no query)."""
        if time.monotonic() - self._checked >= self.check_every_s:
            return None
        found = self._pages.get((org_slug, magnet_slug))
        if isinstance(found, DomainError):
            raise found.with_traceback(None)  # tracebacks must not pile up on the cached one
        return found

    def get(self, org_slug: str, magnet_slug: str) -> LandingSnapshot:
        """The page's snapshot (blocking: may query; call it off the event loop).

        Raises:
            NotFoundError: no such organization or published magnet (cached too).
            MagnetGoneError: archived.
        """
        with self._lock:
            with self.sessions() as session:
                self._current(session)
                key = (org_slug, magnet_slug)
                found = self._pages.get(key)
                if found is None:
                    generation = self._generation
                    try:
                        org = session.scalar(sa.select(Organization).where(
                            Organization.slug == org_slug))
                        if org is None:
                            raise NotFoundError("organization", org_slug)
                        found = load_snapshot(session, org, magnet_slug)
                    except (NotFoundError, MagnetGoneError) as exc:
                        found = exc
                    if len(self._pages) > 10_000:  # unknown slugs must not grow it forever
                        self._pages = {}
                    if generation == self._generation:
                        self._pages[key] = found
        if isinstance(found, DomainError):
            raise found.with_traceback(None)
        return found
