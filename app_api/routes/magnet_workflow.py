"""The editorial workflow of a magnet, with a review gate before publishing.

draft --submit--> in_review --approve--> approved --publish--> published
  ^                   |                                         |
  +------reject-------+          any --archive--> archived      |
  +----------------------------withdraw (back to draft)---------+
Only holders of ``lead_magnets:approve`` (owner, admin) may approve or reject.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from app_api.deps import Context, PermApprove, PermWrite
from app_api.errors import APIError
from app_api.routes.magnets import MagnetDetail, get_magnet
from app_api.schemas import ID_PATTERN, In, LongText
from kernel.metadata.audit import snapshot
from kernel.metadata.enums import MagnetStatus
from kernel.metadata.models import LeadMagnet
from kernel.metadata.outbox import enqueue
from kernel.metadata.types import utcnow

router = APIRouter(prefix="/v1/magnets", tags=["magnets"])

S = MagnetStatus
MagnetId = Annotated[str, Path(max_length=64, pattern=ID_PATTERN)]

#: action -> (statuses it may start from, resulting status, webhook event or None)
TRANSITIONS: dict[str, tuple[frozenset[MagnetStatus], MagnetStatus, str | None]] = {
    "submit": (frozenset({S.DRAFT}), S.IN_REVIEW, None),
    "approve": (frozenset({S.IN_REVIEW}), S.APPROVED, "magnet.approved"),
    "reject": (frozenset({S.IN_REVIEW}), S.DRAFT, None),
    "publish": (frozenset({S.APPROVED}), S.PUBLISHED, "magnet.published"),
    "archive": (frozenset({S.DRAFT, S.IN_REVIEW, S.APPROVED, S.PUBLISHED}), S.ARCHIVED,
                "magnet.archived"),
    "withdraw": (frozenset({S.IN_REVIEW, S.APPROVED, S.PUBLISHED, S.ARCHIVED}), S.DRAFT, None),
}


class NoteIn(In):
    note: LongText = ""


def magnet_summary(m: LeadMagnet) -> dict[str, Any]:
    """The magnet as it appears in webhook payloads."""
    return {"id": m.id, "name": m.name, "slug": m.slug, "type": m.type.value,
            "status": S(m.status).value, "site_id": m.site_id, "lead_value": m.lead_value,
            "published_at": m.published_at.isoformat() if m.published_at else None}


def transition(ctx: Context, magnet_id: str, action: str, note: str = "") -> LeadMagnet:
    """Apply ``action``, audit it and emit its event, or 409 naming the allowed states."""
    allowed, target, event = TRANSITIONS[action]
    magnet = get_magnet(ctx, magnet_id)
    if magnet.status not in allowed:
        names = " or ".join(sorted(s.value for s in allowed))
        raise APIError(409, "invalid_transition",
                       f"cannot {action} a magnet that is {S(magnet.status).value}; "
                       f"{action} works on {names}",
                       details=[{"status": S(magnet.status).value, "action": action,
                                 "allowed_from": sorted(s.value for s in allowed)}])
    before = snapshot(magnet)
    magnet.status = target
    if target == S.PUBLISHED:
        magnet.published_at = utcnow()
    ctx.db.flush()
    after = snapshot(magnet)
    if note:
        after["note"] = note
    ctx.audit(f"magnet.{action}", "magnet", magnet.id, before, after)
    if event:
        enqueue(ctx.db.session, ctx.org_id, event, {"magnet": magnet_summary(magnet)})
    ctx.db.commit()
    return magnet


@router.post("/{magnet_id}/submit", response_model=MagnetDetail)
def submit_magnet(magnet_id: MagnetId, ctx: PermWrite, body: NoteIn | None = None) -> LeadMagnet:
    """Send a draft for review."""
    return transition(ctx, magnet_id, "submit", body.note if body else "")


@router.post("/{magnet_id}/approve", response_model=MagnetDetail)
def approve_magnet(magnet_id: MagnetId, ctx: PermApprove, body: NoteIn | None = None) -> LeadMagnet:
    """Approve a magnet in review (owner/admin: lead_magnets:approve)."""
    return transition(ctx, magnet_id, "approve", body.note if body else "")


@router.post("/{magnet_id}/reject", response_model=MagnetDetail)
def reject_magnet(magnet_id: MagnetId, ctx: PermApprove, body: NoteIn | None = None) -> LeadMagnet:
    """Send a magnet in review back to draft, with a note (owner/admin)."""
    return transition(ctx, magnet_id, "reject", body.note if body else "")


@router.post("/{magnet_id}/publish", response_model=MagnetDetail)
def publish_magnet(magnet_id: MagnetId, ctx: PermWrite, body: NoteIn | None = None) -> LeadMagnet:
    """Publish an approved magnet (emits magnet.published)."""
    return transition(ctx, magnet_id, "publish", body.note if body else "")


@router.post("/{magnet_id}/archive", response_model=MagnetDetail)
def archive_magnet(magnet_id: MagnetId, ctx: PermWrite, body: NoteIn | None = None) -> LeadMagnet:
    """Archive a magnet; it is no longer served (emits magnet.archived)."""
    return transition(ctx, magnet_id, "archive", body.note if body else "")


@router.post("/{magnet_id}/withdraw", response_model=MagnetDetail)
def withdraw_magnet(magnet_id: MagnetId, ctx: PermWrite, body: NoteIn | None = None) -> LeadMagnet:
    """Move a magnet back to draft to edit it (it must be reviewed again)."""
    return transition(ctx, magnet_id, "withdraw", body.note if body else "")
