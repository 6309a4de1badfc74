"""Audit records: who did what to which resource, when and from where, with before/after.

Used by the API, by ``experiments.lifecycle`` and by jobs. Records are written in the
caller's transaction, so an action and its audit entry commit (or roll back) together.
The client IP is never stored: ``hash_ip`` keys an HMAC with the server secret, so the
hash cannot be reversed by hashing all 2**32 IPv4 addresses.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.metadata.enums import ActorType
from kernel.metadata.models import AuditLog

#: Columns never copied into an audit snapshot (credentials).
SECRET_COLUMNS = frozenset({"password_hash", "secret_hash", "secret", "previous_secret"})


@dataclass(frozen=True)
class Actor:
    """Who performs an action: a user, an API key or the system (a job or sensor)."""

    id: str
    type: ActorType
    ip_hash: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The platform itself, e.g. the promotion sensor (``Actor.system("sensor")``)."""
        return cls(name, ActorType.SYSTEM)


def hash_ip(ip: str | None, key: str) -> str | None:
    """Keyed SHA-256 of a client IP (hex), or None when there is no IP."""
    if not ip:
        return None
    return hmac.new(key.encode(), f"ip:{ip}".encode(), hashlib.sha256).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """Column values of a mapped object as JSON-safe data, credentials left out, and the
    ciphertexts and blind indexes of sealed (encrypted) fields too: the audit log would
    otherwise keep what the table encrypts."""
    from kernel.metadata.sealed import sealed_fields

    sealed = {c for f in sealed_fields(type(obj)).values() for c in (f.column, f.index) if c}
    mapper = sa.inspect(type(obj))
    return {
        attr.key: _jsonable(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in SECRET_COLUMNS and attr.key not in sealed
    }


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """Keys whose values differ between two snapshots (for messages and tests)."""
    before, after = before or {}, after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def record(
    session: Session,
    *,
    org_id: str,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit entry to ``session`` (committed with the caller's transaction).

    Args:
        action: Dotted verb, e.g. ``"magnet.updated"``, ``"experiment.promoted"``.
        before: Snapshot before the change (None for creations).
        after: Snapshot after the change (None for deletions).
    """
    entry = AuditLog(
        org_id=org_id,
        actor=actor.id,
        actor_type=actor.type,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        ip_hash=actor.ip_hash,
    )
    session.add(entry)
    return entry
