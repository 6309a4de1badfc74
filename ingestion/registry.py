"""What the collector needs from the metadata database, cached in memory and refreshed.

Lookups on the request path are dictionary hits; a miss triggers at most one reload every
``min_reload_s`` so a newly created site or key starts working within a second or two. The
snapshot also holds, per organization, the experiment configuration the snippet assigns
from (already JSON-encoded).

Staleness is bounded by :mod:`kernel.metadata.revisions`: a commit that changes a site, key,
user, organization or experiment reloads the registry of the committing process before the
commit returns (the collector registers :meth:`Registry.reload` as a change listener), and
:meth:`Registry.refresh`, called once a second, compares the organizations' revision
fingerprint and reloads when it moved: a revoked key or deleted site is refused in every
other process within about two seconds. ``ttl_s`` is only the backstop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from ingestion.consent import ConsentState
from kernel.metadata.enums import ExperimentStatus
from kernel.metadata.models import ApiKey, Experiment, Organization, Site, User
from kernel.metadata.revisions import fingerprint
from kernel.metadata.tokens import split_api_key, verify_api_secret
from kernel.permissions import key_rights
from kernel.pii import POLICIES

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
    experiments: dict[str, bytes] = field(default_factory=dict)  # org_id -> JSON list
    pii: dict[str, str] = field(default_factory=dict)  # org_id -> its own PII policy
    modes: dict[str, str] = field(default_factory=dict)  # org_id -> consent mode
    loaded_at: float = 0.0
    revision: tuple[int, int] = (-1, -1)  # kernel.metadata.revisions.fingerprint


def experiment_config(exp: Experiment) -> dict[str, Any] | None:
    """What the snippet needs to assign ``exp``: key (also the hash seed), magnet, variants,
    weights, coverage; ``p`` marks a promoted experiment serving its winner to everyone.

    During a holdout after promotion (experiments/holdout.py) the arms are the control and
    the winner, weighted ``[share, 1 - share]``: the holdout is the first buckets of the
    hash, a subset of the control's range, so its visitors never change arm; exposures
    are logged (no ``p``) so that the guardrails can still be measured; ``o`` marks it."""
    variants = [str(v.get("key", "")) for v in exp.variants or []]
    if not variants:
        return None
    cfg: dict[str, Any] = {"k": exp.key, "g": exp.magnet_id or ""}
    if exp.status == ExperimentStatus.PROMOTED:
        winner = exp.winner or variants[0]
        share = float(exp.holdout_share or 0)
        if exp.holdout_started_at is not None and 0 < share < 1 and winner != variants[0]:
            return {**cfg, "v": [variants[0], winner], "w": [share, 1 - share], "c": 1, "o": 1}
        return {**cfg, "v": [winner], "w": [1], "c": 1, "p": 1}
    weights = [float(v.get("weight", 1.0)) for v in exp.variants]
    return {**cfg, "v": variants, "w": weights, "c": float(exp.coverage)}


class Registry:
    """Site keys and API keys, read from the metadata database."""

    def __init__(self, session_factory: sessionmaker[Session], *, ttl_s: float = 10.0,
                 min_reload_s: float = 1.0, inline_reload: bool = True) -> None:
        """``inline_reload=False`` (the collector): lookups never touch the database; a
        miss or an expired snapshot only asks :meth:`refresh`, run off the event loop."""
        self.sessions = session_factory
        self.ttl_s = ttl_s
        self.min_reload_s = min_reload_s
        self.inline_reload = inline_reload
        self._snap = Snapshot()
        self._lock = threading.Lock()
        self._missed = False
        #: Analytics consent per visitor (``consent_required`` organizations read it).
        self.consent = ConsentState(session_factory)

    def reload(self) -> Snapshot:
        snap = Snapshot(loaded_at=time.monotonic())
        with self.sessions() as s:
            snap.revision = fingerprint(s)  # first: a change racing the load reloads again
            consent: dict[str, str] = {}
            for org_id, mode, org_settings in s.execute(sa.select(
                    Organization.id, Organization.consent_mode, Organization.settings)):
                consent[org_id] = str(getattr(mode, "value", mode))
                policy = (org_settings or {}).get("pii_policy")
                if policy in POLICIES:  # else LODESTONE_PII_POLICY (kernel.pii.org_policy)
                    snap.pii[org_id] = policy
            snap.modes = consent
            for site in s.scalars(sa.select(Site)):
                snap.sites[site.site_key] = SiteInfo(
                    site.id, site.org_id, tuple(site.allowed_origins or ()),
                    str(consent.get(site.org_id, "cookieless")),
                )
                snap.org_sites.setdefault(site.org_id, site.id)
            live = (ExperimentStatus.RUNNING, ExperimentStatus.PROMOTED)
            per_org: dict[str, list[dict[str, Any]]] = {}
            for exp in s.scalars(sa.select(Experiment).where(Experiment.status.in_(live))
                                 .order_by(Experiment.key)):
                cfg = experiment_config(exp)
                if cfg is not None:
                    per_org.setdefault(exp.org_id, []).append(cfg)
            snap.experiments = {org: msgspec.json.encode(v) for org, v in per_org.items()}
            # A key may do what its scopes allow within its creator's current role (the API's
            # rule, kernel.permissions.key_rights): a demoted creator's key loses
            # events:write here too, a deactivated creator's key is refused.
            creators = {uid: (str(getattr(role, "value", role)), bool(active)) for uid, role, active
                        in s.execute(sa.select(User.id, User.role, User.is_active))}
            for key in s.scalars(sa.select(ApiKey).where(ApiKey.revoked_at.is_(None))):
                role, active = creators.get(key.created_by, ("", False)) if key.created_by else (None, True)
                rights = key_rights(key.scopes or (), role, active)
                if rights is not None:
                    snap.keys[key.prefix] = KeyInfo(key.id, key.org_id, key.secret_hash,
                                                    tuple(sorted(rights)))
        self._snap = snap
        return snap

    def refresh(self) -> bool:
        """Reload if the metadata changed, the snapshot expired or a lookup missed, and read
        the newest consent records (blocking; call it in a thread, about once a second)."""
        try:
            self.consent.tail()
        except Exception:  # metadata DB briefly away: keep the consent state we have
            log.warning("consent records could not be read; serving the cached state")
        age = time.monotonic() - self._snap.loaded_at
        try:
            with self.sessions() as s:
                changed = fingerprint(s) != self._snap.revision
        except Exception:  # metadata DB briefly away: keep serving the cache
            log.warning("registry revision check failed; serving the cached snapshot")
            return False
        if changed or age > self.ttl_s or (self._missed and age > self.min_reload_s):
            self._missed = False
            try:
                self.reload()
            except Exception:  # metadata DB briefly away: keep serving the cache
                log.exception("registry reload failed; serving the cached snapshot")
                return False
            return True
        return False

    def _fresh(self, force: bool = False) -> Snapshot:
        snap = self._snap
        if not self.inline_reload:
            self._missed = self._missed or force
            return snap
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

    def consent_mode(self, org_id: str) -> str:
        return self._snap.modes.get(org_id, "cookieless")

    def visitor_filter(self, org_id: str, consent_mode: str, *, server_side: bool
                       ) -> tuple[AbstractSet[str] | None, AbstractSet[str] | None]:
        """(keep only these, drop these) client visitor ids, for an organization whose mode
        requires consent; (None, None) keeps every one. Browsers: only ids with analytics
        consent granted; servers (which send ids of their own, e.g. a user id): all but
        withdrawn ones. Fetched once per batch; each event is one set membership test."""
        if consent_mode != "consent_required":
            return None, None
        if server_side:
            return None, self.consent.withdrawn_ids(org_id)
        return self.consent.granted_ids(org_id), None

    def pii_policy(self, org_id: str, default: str) -> str:
        """The organization's PII policy (its privacy settings), else ``default``."""
        return self._snap.pii.get(org_id, default)

    def experiments(self, org_id: str) -> bytes:
        """The organization's running and promoted experiments as a JSON list."""
        return self._fresh().experiments.get(org_id, b"[]")

    def any_origin_allowed(self, origin: str) -> bool:
        """Whether some site accepts ``origin`` (answers CORS preflights)."""
        return any(origin in s.allowed_origins or "*" in s.allowed_origins
                   for s in self._fresh().sites.values())
