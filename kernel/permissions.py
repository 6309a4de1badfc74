"""Permissions and the roles that hold them (one table, checked by one dependency)."""

from __future__ import annotations

LEAD_MAGNETS_READ = "lead_magnets:read"
LEAD_MAGNETS_WRITE = "lead_magnets:write"
TEAM_MANAGE = "team:manage"
ANALYTICS_VIEW = "analytics:view"
DATA_EXPORT = "data:export"
EXPERIMENTS_PROMOTE = "experiments:promote"
EVENTS_WRITE = "events:write"

ALL_PERMISSIONS: tuple[str, ...] = (
    LEAD_MAGNETS_READ, LEAD_MAGNETS_WRITE, TEAM_MANAGE, ANALYTICS_VIEW, DATA_EXPORT,
    EXPERIMENTS_PROMOTE, EVENTS_WRITE,
)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": frozenset(ALL_PERMISSIONS),
    "admin": frozenset(ALL_PERMISSIONS),
    "editor": frozenset({LEAD_MAGNETS_READ, LEAD_MAGNETS_WRITE, ANALYTICS_VIEW, EVENTS_WRITE}),
    "viewer": frozenset({LEAD_MAGNETS_READ, ANALYTICS_VIEW}),
}
