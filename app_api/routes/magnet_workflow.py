"""The editorial workflow's routes (rules in content/workflow.py): submit, approve, reject,
publish, archive, withdraw. Only holders of ``lead_magnets:approve`` may approve or reject."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter

from app_api.deps import Context, PermApprove, PermRead, PermWrite
from app_api.errors import APIError
from app_api.routes.magnets import MagnetDetail, get_magnet
from app_api.schemas import In, LongText, Out, PathId
from content import workflow
from content.gate import gate_for
from kernel.metadata.models import LeadMagnet
from kernel.permissions import LEAD_MAGNETS_APPROVE

router = APIRouter(prefix="/v1/magnets", tags=["magnets"])


class NoteIn(In):
    note: LongText = ""


class ApprovalOut(Out):
    magnet_id: str
    status: str
    approved_by: str | None
    approved_at: dt.datetime | None
    note: str


class GatedIn(NoteIn):
    override: bool = False  # pass failing quality checks (owner/admin), audited


def transition(ctx: Context, magnet_id: str, action: str, note: str = "",
               override: bool = False) -> LeadMagnet:
    """Apply ``action`` (content.workflow) and commit; 409 names the allowed states, or the
    failing quality checks before submit and publish."""
    if override and not ctx.has(LEAD_MAGNETS_APPROVE):
        raise APIError(403, "forbidden", "only an owner or admin (lead_magnets:approve) may "
                       "override failing quality checks",
                       [{"missing_permission": LEAD_MAGNETS_APPROVE}])
    magnet = workflow.transition(ctx.db.session, get_magnet(ctx, magnet_id), action, ctx.actor,
                                 note, gate=gate_for(ctx.settings), override=override)
    ctx.db.commit()
    return magnet


@router.post("/{magnet_id}/submit", response_model=MagnetDetail)
def submit_magnet(magnet_id: PathId, ctx: PermWrite, body: GatedIn | None = None) -> LeadMagnet:
    """Send a draft for review; failing quality checks block it (GET …/checks)."""
    body = body or GatedIn()
    return transition(ctx, magnet_id, "submit", body.note, body.override)


@router.post("/{magnet_id}/approve", response_model=MagnetDetail)
def approve_magnet(magnet_id: PathId, ctx: PermApprove, body: NoteIn | None = None) -> LeadMagnet:
    """Approve a magnet in review (owner/admin: lead_magnets:approve)."""
    return transition(ctx, magnet_id, "approve", body.note if body else "")


@router.post("/{magnet_id}/reject", response_model=MagnetDetail)
def reject_magnet(magnet_id: PathId, ctx: PermApprove, body: NoteIn | None = None) -> LeadMagnet:
    """Send a magnet in review back to draft, with a note (owner/admin)."""
    return transition(ctx, magnet_id, "reject", body.note if body else "")


@router.post("/{magnet_id}/publish", response_model=MagnetDetail)
def publish_magnet(magnet_id: PathId, ctx: PermWrite, body: GatedIn | None = None) -> LeadMagnet:
    """Publish an approved magnet (emits magnet.published); failing checks block it."""
    body = body or GatedIn()
    return transition(ctx, magnet_id, "publish", body.note, body.override)


@router.post("/{magnet_id}/archive", response_model=MagnetDetail)
def archive_magnet(magnet_id: PathId, ctx: PermWrite, body: NoteIn | None = None) -> LeadMagnet:
    """Archive a magnet; it is no longer served (emits magnet.archived)."""
    return transition(ctx, magnet_id, "archive", body.note if body else "")


@router.post("/{magnet_id}/withdraw", response_model=MagnetDetail)
def withdraw_magnet(magnet_id: PathId, ctx: PermWrite, body: NoteIn | None = None) -> LeadMagnet:
    """Move a magnet back to draft to edit it (it must be reviewed again)."""
    return transition(ctx, magnet_id, "withdraw", body.note if body else "")


@router.get("/{magnet_id}/approval", response_model=ApprovalOut)
def read_approval(magnet_id: PathId, ctx: PermRead) -> dict[str, object]:
    """Who approved the magnet last, when and with what note (from the audit log)."""
    return workflow.approval(ctx.db.session, get_magnet(ctx, magnet_id))
