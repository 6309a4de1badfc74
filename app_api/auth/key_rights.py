"""What an API key may do: its scopes, never more than its creator may do *now*.

A key made by an admin kept ``team:manage`` after the admin was demoted to viewer, and
worked after they were deactivated (issue #18). Now a key's effective rights are its
scopes intersected with its creator's current role, checked on every request; and
deactivating or deleting a person revokes the keys they created (audited, with the
reason), so the collector refuses them too. Keys with no creator (made by ``lodestone
seed`` or ``up``) keep their scopes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.metadata.models import ApiKey, User
from kernel.metadata.types import utcnow
from kernel.permissions import key_rights


class CreatorInactiveError(Exception):
    """The key's creator can no longer act, so neither can the key."""


def effective_scopes(session: Session, key: ApiKey) -> tuple[frozenset[str], str | None]:
    """(rights the key has now, the creator's role that limits them or None).

    Raises CreatorInactiveError when the creator was deactivated.
    """
    if key.created_by is None:
        return frozenset(key.scopes or ()), None
    creator = session.get(User, key.created_by)
    role = str(getattr(creator.role, "value", creator.role)) if creator is not None else ""
    rights = key_rights(key.scopes or (), role, creator is not None and creator.is_active)
    if rights is None:
        raise CreatorInactiveError(key.created_by)
    return rights, role


def revoke_keys_of(session: Session, user_id: str, reason: str,
                   audit: Any) -> list[str]:
    """Revoke every active key ``user_id`` created, auditing each with ``reason``.

    ``audit`` is ``Context.audit``; the caller commits (one transaction with the change).
    """
    keys = session.scalars(sa.select(ApiKey).where(ApiKey.created_by == user_id,
                                                   ApiKey.revoked_at.is_(None))).all()
    now = utcnow()
    for key in keys:
        key.revoked_at = now
        audit("api_key.revoked", "api_key", key.id, {"revoked_at": None},
              {"revoked_at": now.isoformat(), "reason": reason})
    return [k.id for k in keys]


def key_out(session: Session, key: ApiKey) -> dict[str, Any]:
    """``effective_scopes`` and ``limited_by_role`` for a key's API representation."""
    try:
        scopes, role = effective_scopes(session, key)
    except CreatorInactiveError:
        return {"effective_scopes": [], "limited_by_role": None}
    limited = role if scopes != frozenset(key.scopes or ()) else None
    return {"effective_scopes": sorted(scopes), "limited_by_role": limited}
