"""The editorial workflow of a magnet, with a review gate before publishing.

::

    draft --submit--> in_review --approve--> approved --publish--> published
      ^                   |                                         |
      +------reject-------+          any --archive--> archived      |
      +----------------------------withdraw (back to draft)---------+

Who may do what is the caller's business (the API lets only ``lead_magnets:approve``
holders approve or reject). :func:`transition` validates the move, sets status and
``published_at``, writes the audit entry and enqueues the webhook event in the caller's
session: the caller's commit makes all three visible together, or none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.errors import TransitionError
from kernel.metadata.audit import Actor, record, snapshot
from kernel.metadata.enums import MagnetStatus
from kernel.metadata.models import LeadMagnet
from kernel.metadata.outbox import enqueue
from kernel.metadata.types import utcnow

if TYPE_CHECKING:
    from content.gate import Gate

S = MagnetStatus

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

#: Actions the quality gate guards (content/gate.py).
GATED = frozenset({"submit", "publish"})


def magnet_summary(m: LeadMagnet) -> dict[str, Any]:
    """The magnet as it appears in webhook payloads."""
    return {"id": m.id, "name": m.name, "slug": m.slug, "type": m.type.value,
            "status": S(m.status).value, "site_id": m.site_id, "lead_value": m.lead_value,
            "published_at": m.published_at.isoformat() if m.published_at else None}


def transition(session: Session, magnet: LeadMagnet, action: str, actor: Actor,
               note: str = "", *, gate: Gate | None = None, override: bool = False) -> LeadMagnet:
    """Apply ``action`` to ``magnet`` (audit + event in ``session``; the caller commits).

    Args:
        gate: the quality checks (content.gate.gate_for) consulted before submit and
            publish; a failing one blocks the move.
        override: pass a failing gate anyway (the caller checked the actor may: owner or
            admin); audited as ``magnet.check_overridden`` with every failed check.

    Raises:
        ChecksFailedError: a quality check failed and ``override`` is False (the message
            names each check with its number and threshold; ``details`` hold them).
        TransitionError: the magnet's status does not allow ``action`` (the message and
            ``details`` name the statuses that do).
        KeyError: ``action`` is not one of ``TRANSITIONS``.
    """
    allowed, target, event = TRANSITIONS[action]
    if magnet.status not in allowed:
        names = sorted(s.value for s in allowed)
        raise TransitionError(
            f"cannot {action} a magnet that is {S(magnet.status).value}; "
            f"{action} works on {' or '.join(names)}",
            [{"status": S(magnet.status).value, "action": action, "allowed_from": names}])
    if gate is not None and action in GATED:
        _check_gate(session, magnet, action, actor, note, gate, override)
    before = snapshot(magnet)
    magnet.status = target
    if target == S.PUBLISHED:
        magnet.published_at = utcnow()
    session.flush()
    after = snapshot(magnet)
    if note:
        after["note"] = note
    record(session, org_id=magnet.org_id, actor=actor, action=f"magnet.{action}",
           resource_type="magnet", resource_id=magnet.id, before=before, after=after)
    if event:
        enqueue(session, magnet.org_id, event, {"magnet": magnet_summary(magnet)})
    return magnet


def approval(session: Session, magnet: LeadMagnet) -> dict[str, Any]:
    """Who approved ``magnet`` last, when and with what note (from the audit log); None
    fields when it was never approved."""
    from kernel.metadata.models import AuditLog, User

    row = session.execute(
        sa.select(AuditLog.actor, AuditLog.actor_type, AuditLog.created_at, AuditLog.after)
        .where(AuditLog.org_id == magnet.org_id, AuditLog.resource_type == "magnet",
               AuditLog.resource_id == magnet.id, AuditLog.action == "magnet.approve")
        .order_by(AuditLog.created_at.desc()).limit(1)).first()
    out: dict[str, Any] = {"magnet_id": magnet.id, "status": S(magnet.status).value,
                           "approved_by": None, "approved_at": None, "note": ""}
    if row is None:
        return out
    who = session.scalars(sa.select(User).where(
        User.org_id == magnet.org_id, User.id == row.actor)).first()
    out.update(approved_by=(f"{who.name} <{who.email}>" if who and who.name else
                            who.email if who else f"{row.actor_type} {row.actor}"),
               approved_at=row.created_at, note=(row.after or {}).get("note", ""))
    return out


def _check_gate(session: Session, magnet: LeadMagnet, action: str, actor: Actor, note: str,
                gate: Gate, override: bool) -> None:
    from content.gate import ChecksFailedError
    from content.quality import blocked_reason, blocking

    results = gate(session, magnet)
    failed = blocking(results)
    if not failed:
        return
    reason = blocked_reason(results) or "quality checks failed"
    if not override:
        raise ChecksFailedError(
            f"cannot {action}: {reason}. Fix the document, or ask an owner or admin to "
            "override with {\"override\": true, \"note\": \"why\"}",
            [r.to_dict() for r in failed])
    record(session, org_id=magnet.org_id, actor=actor, action="magnet.check_overridden",
           resource_type="magnet", resource_id=magnet.id,
           after={"action": action, "note": note,
                  "failed": [{"name": r.name, "value": r.value, "threshold": r.threshold,
                              "message": r.message} for r in failed]})
