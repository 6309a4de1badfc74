"""The audit log: who did what to which resource, when and from where (append-only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app_api.deps import PermTeam
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import AwareDatetime, Out, Page, PathId, QueryText
from kernel.metadata.enums import ActorType
from kernel.metadata.models import AuditLog

router = APIRouter(prefix="/v1/audit-log", tags=["audit log"])


class AuditEntryOut(Out):
    id: str
    actor: str
    actor_type: ActorType
    action: str
    resource_type: str
    resource_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip_hash: str | None
    created_at: dt.datetime


@router.get("", response_model=Page[AuditEntryOut])
def list_audit_log(
    ctx: PermTeam,
    actor: Annotated[QueryText | None, Query(description="User or API key id.")] = None,
    actor_type: ActorType | None = None,
    action: Annotated[QueryText | None, Query(
        description="Exact action, or a prefix ending in '.' (e.g. 'experiment.').")] = None,
    resource_type: Annotated[QueryText | None, Query()] = None,
    resource_id: Annotated[QueryText | None, Query()] = None,
    since: Annotated[AwareDatetime | None, Query()] = None,
    until: Annotated[AwareDatetime | None, Query()] = None,
    cursor: str | None = CursorQuery,
    limit: int = LimitQuery,
) -> dict[str, object]:
    """Audit entries, newest first, filtered by actor, action, resource and time."""
    stmt = ctx.db.select(AuditLog)
    if actor:
        stmt = stmt.where(AuditLog.actor == actor)
    if actor_type is not None:
        stmt = stmt.where(AuditLog.actor_type == actor_type)
    if action:
        stmt = stmt.where(AuditLog.action.startswith(action, autoescape=True)
                          if action.endswith(".") else AuditLog.action == action)
    if resource_type:
        stmt = stmt.where(AuditLog.resource_type == resource_type)
    if resource_id:
        stmt = stmt.where(AuditLog.resource_id == resource_id)
    if since:
        stmt = stmt.where(AuditLog.created_at >= since)
    if until:
        stmt = stmt.where(AuditLog.created_at < until)
    rows, nxt = paginate(ctx.db, stmt, AuditLog, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.get("/{entry_id}", response_model=AuditEntryOut)
def get_audit_entry(entry_id: PathId, ctx: PermTeam) -> AuditLog:
    """One audit entry."""
    return ctx.get(AuditLog, entry_id, "audit entry")
