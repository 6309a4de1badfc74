"""What the collector needs from the metadata database, cached in memory and refreshed.

Lookups on the request path are dictionary hits; a miss triggers at most one reload every
``min_reload_s`` so a newly created site or key starts working within a second or two.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from kernel.metadata.models import ApiKey, Organization, Site
from kernel.metadata.tokens import split_api_key, verify_api_secret

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteInfo:
    site_id: str
    org_id: str
    allowed_origins: tuple[str, ...]
    consent_mode: str


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    org_id: str
    secret_hash: str
    scopes: tuple[str, ...]


@dataclass
class Snapshot:
    sites: dict[str, SiteInfo] = field(default_factory=dict)
    keys: dict[str, KeyInfo] = field(default_factory=dict)
    org_sites: dict[str, str] = field(default_factory=dict)  # org_id -> first site_id
    loaded_at: float = 0.0


class Registry:
    """Site keys and API keys, read from the metadata database."""

    def __init__(self, session_factory: sessionmaker[Session], *, ttl_s: float = 10.0,
                 min_reload_s: float = 1.0) -> None:
        self.sessions = session_factory
        self.ttl_s = ttl_s
        self.min_reload_s = min_reload_s
        self._snap = Snapshot()
        self._lock = threading.Lock()

    def reload(self) -> Snapshot:
        snap = Snapshot(loaded_at=time.monotonic())
        with self.sessions() as s:
            consent = dict(s.execute(sa.select(Organization.id, Organization.consent_mode)).all())
            for site in s.scalars(sa.select(Site)):
                snap.sites[site.site_key] = SiteInfo(
                    site.id, site.org_id, tuple(site.allowed_origins or ()),
                    str(consent.get(site.org_id, "cookieless")),
                )
                snap.org_sites.setdefault(site.org_id, site.id)
            for key in s.scalars(sa.select(ApiKey).where(ApiKey.revoked_at.is_(None))):
                snap.keys[key.prefix] = KeyInfo(
                    key.id, key.org_id, key.secret_hash, tuple(key.scopes or ())
                )
        self._snap = snap
        return snap

    def _fresh(self, force: bool = False) -> Snapshot:
        snap = self._snap
        age = time.monotonic() - snap.loaded_at
        if age > self.ttl_s or (force and age > self.min_reload_s):
            with self._lock:
                if self._snap is snap:
                    try:
                        return self.reload()
                    except Exception:  # metadata DB briefly away: keep serving the cache
                        log.exception("registry reload failed; serving the cached snapshot")
            return self._snap
        return snap

    def site(self, site_key: str) -> SiteInfo | None:
        info = self._fresh().sites.get(site_key)
        if info is None:
            info = self._fresh(force=True).sites.get(site_key)
        return info

    def api_key(self, token: str) -> KeyInfo | None:
        """The key for a presented ``Authorization: Bearer`` token, or None."""
        parts = split_api_key(token)
        if parts is None:
            return None
        prefix, secret = parts
        info = self._fresh().keys.get(prefix) or self._fresh(force=True).keys.get(prefix)
        if info is None or not verify_api_secret(secret, info.secret_hash):
            return None
        return info

    def default_site(self, org_id: str) -> str:
        return self._fresh().org_sites.get(org_id, "")
