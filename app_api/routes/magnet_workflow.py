"""The editorial workflow's routes (rules in content/workflow.py): submit, approve, reject,
publish, archive, withdraw. Only holders of ``lead_magnets:approve`` may approve or reject."""

from __future__ import annotations

from fastapi import APIRouter

from app_api.deps import Context, PermApprove, PermWrite
from app_api.routes.magnets import MagnetDetail, get_magnet
from app_api.schemas import In, LongText, PathId
from content import workflow
from kernel.metadata.models import LeadMagnet

router = APIRouter(prefix="/v1/magnets", tags=["magnets"])


class NoteIn(In):
    note: LongText = ""


def transition(ctx: Context, magnet_id: str, action: str, note: str = "") -> LeadMagnet:
    """Apply ``action`` (content.workflow) and commit; 409 names the allowed states."""
    magnet = workflow.transition(ctx.db.session, get_magnet(ctx, magnet_id), action, ctx.actor,
                                 note)
    ctx.db.commit()
    return magnet


@router.post("/{magnet_id}/submit", response_model=MagnetDetail)
def submit_magnet(magnet_id: PathId, ctx: PermWrite, body: NoteIn | None = None) -> LeadMagnet:
    """Send a draft for review."""
    return transition(ctx, magnet_id, "submit", body.note if body else "")


@router.post("/{magnet_id}/approve", response_model=MagnetDetail)
def approve_magnet(magnet_id: PathId, ctx: PermApprove, body: NoteIn | None = None) -> LeadMagnet:
    """Approve a magnet in review (owner/admin: lead_magnets:approve)."""
    return transition(ctx, magnet_id, "approve", body.note if body else "")


@router.post("/{magnet_id}/reject", response_model=MagnetDetail)
def reject_magnet(magnet_id: PathId, ctx: PermApprove, body: NoteIn | None = None) -> LeadMagnet:
    """Send a magnet in review back to draft, with a note (owner/admin)."""
    return transition(ctx, magnet_id, "reject", body.note if body else "")


@router.post("/{magnet_id}/publish", response_model=MagnetDetail)
def publish_magnet(magnet_id: PathId, ctx: PermWrite, body: NoteIn | None = None) -> LeadMagnet:
    """Publish an approved magnet (emits magnet.published)."""
    return transition(ctx, magnet_id, "publish", body.note if body else "")


@router.post("/{magnet_id}/archive", response_model=MagnetDetail)
def archive_magnet(magnet_id: PathId, ctx: PermWrite, body: NoteIn | None = None) -> LeadMagnet:
    """Archive a magnet; it is no longer served (emits magnet.archived)."""
    return transition(ctx, magnet_id, "archive", body.note if body else "")


@router.post("/{magnet_id}/withdraw", response_model=MagnetDetail)
def withdraw_magnet(magnet_id: PathId, ctx: PermWrite, body: NoteIn | None = None) -> LeadMagnet:
    """Move a magnet back to draft to edit it (it must be reviewed again)."""
    return transition(ctx, magnet_id, "withdraw", body.note if body else "")
