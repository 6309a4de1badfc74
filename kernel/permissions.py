"""Permissions and the roles that hold them (one table, checked by one dependency).

Routes of ``app_api`` each declare exactly one permission (``app_api.deps.authorize``);
users get the permissions of their role, API keys the scopes they were created with.
"""

from __future__ import annotations

from collections.abc import Iterable

LEAD_MAGNETS_READ = "lead_magnets:read"
LEAD_MAGNETS_WRITE = "lead_magnets:write"
LEAD_MAGNETS_APPROVE = "lead_magnets:approve"
TEAM_MANAGE = "team:manage"
ANALYTICS_VIEW = "analytics:view"
DATA_EXPORT = "data:export"
EXPERIMENTS_PROMOTE = "experiments:promote"
EVENTS_WRITE = "events:write"

#: What each permission allows, for docs and the key-creation UI.
PERMISSION_DESCRIPTIONS: dict[str, str] = {
    LEAD_MAGNETS_READ: "read the organization, sites, magnets, variants, experiments, ad spend",
    LEAD_MAGNETS_WRITE: "create and edit magnets, variants, experiments, ad spend; start/stop tests",
    LEAD_MAGNETS_APPROVE: "approve or reject magnets in review (the review gate)",
    TEAM_MANAGE: "users, roles, API keys, sites, webhooks and the audit log",
    ANALYTICS_VIEW: "the /v1/stats query endpoints",
    DATA_EXPORT: "read leads (personal data) and export them as CSV",
    EXPERIMENTS_PROMOTE: "promote, override the winner of, or roll back an experiment",
    EVENTS_WRITE: "send events to the collector and create leads server-side",
}

ALL_PERMISSIONS: tuple[str, ...] = tuple(PERMISSION_DESCRIPTIONS)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": frozenset(ALL_PERMISSIONS),
    "admin": frozenset(ALL_PERMISSIONS),
    "editor": frozenset({LEAD_MAGNETS_READ, LEAD_MAGNETS_WRITE, ANALYTICS_VIEW, EVENTS_WRITE}),
    "viewer": frozenset({LEAD_MAGNETS_READ, ANALYTICS_VIEW}),
}


def permissions_for_role(role: str) -> frozenset[str]:
    """Permissions of ``role`` (an unknown role has none)."""
    return ROLE_PERMISSIONS.get(str(role), frozenset())


def key_rights(scopes: Iterable[str], creator_role: str | None,
               creator_active: bool = True) -> frozenset[str] | None:
    """What an API key may do now: its scopes within its creator's current role.

    ``creator_role`` None means the key has no creator (made by ``lodestone seed`` or
    ``up``): it keeps its scopes. A key whose creator was deactivated or deleted may do
    nothing (None). The API (``app_api/auth/key_rights.py``) and the collector's registry
    both apply this one rule.
    """
    if creator_role is None:
        return frozenset(scopes)
    if not creator_active:
        return None
    return frozenset(scopes) & permissions_for_role(creator_role)


def unknown_permissions(names: Iterable[str]) -> list[str]:
    """Names in ``names`` that are not permissions, in order."""
    return [n for n in names if n not in PERMISSION_DESCRIPTIONS]
