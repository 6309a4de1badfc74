"""Queueing mail and the suppression list, in the caller's transaction.

:func:`queue_mail` renders nothing itself: the caller passes the rendered subject and
bodies (``publishing.mail.templates``); the row commits with the change that caused it
(an opt-in, a confirmation), so a mail is never sent for a change that rolled back, nor
lost for one that committed. ``QUEUED`` wakes the in-process mail worker after commit.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.crypto import email_index
from kernel.metadata.audit import Actor, record
from kernel.metadata.models import MailMessage, MailSuppression
from kernel.metadata.signals import CommitSignal
from kernel.metadata.types import utcnow

#: Fired after a commit that queued mail (wakes the in-process mail worker).
QUEUED = CommitSignal("mail")

#: Reasons an address is suppressed; each blocks every later send to it.
SUPPRESSION_REASONS = frozenset({"unsubscribed", "bounced", "complained"})


def _clean(value: str, limit: int) -> str:
    # Header values never carry line breaks (header injection); the opt-in form already
    # refuses them, this is the last line of defence for every other caller.
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())[:limit]


def queue_mail(session: Session, org_id: str, *, kind: str, to_addr: str, subject: str,
               text_body: str, html_body: str, to_name: str = "", lead_id: str | None = None,
               unsubscribe_url: str = "", domain: str = "lodestone.local",
               flush: bool = True) -> MailMessage:
    """Add a mail to the outbox, due now (flushed unless ``flush=False``, for bulk
    queuing; the caller commits)."""
    row = MailMessage(
        org_id=org_id, lead_id=lead_id, kind=kind, to_addr=_clean(to_addr, 320).lower(),
        to_name=_clean(to_name, 200), subject=_clean(subject, 300), text_body=text_body,
        html_body=html_body, unsubscribe_url=unsubscribe_url,
        message_id=f"<{uuid.uuid4().hex}@{_clean(domain, 100) or 'lodestone.local'}>",
        status="pending", attempts=0, next_attempt_at=utcnow())
    session.add(row)
    if flush:
        session.flush()
    QUEUED.mark(session)
    return row


def _suppression_filter(session: Session, org_id: str,
                        email: str) -> sa.ColumnElement[bool] | None:
    """The condition naming ``email``'s suppression row: by blind index (the address is
    stored encrypted), or None when the organization has no data key (so no row)."""
    index = email_index(session, org_id, email)
    if index is None:
        return None
    return sa.and_(MailSuppression.org_id == org_id, MailSuppression.email_index == index)


def suppression(session: Session, org_id: str, email: str) -> str | None:
    """Why ``email`` must not be mailed by ``org_id`` (a reason), or None."""
    cond = _suppression_filter(session, org_id, email)
    return None if cond is None else session.scalar(sa.select(MailSuppression.reason).where(cond))


def find_suppression(session: Session, org_id: str, email: str) -> MailSuppression | None:
    """``email``'s row on the organization's suppression list, if any."""
    cond = _suppression_filter(session, org_id, email)
    return None if cond is None else session.scalar(sa.select(MailSuppression).where(cond))


def suppress(session: Session, org_id: str, email: str, reason: str,
             actor: Actor | None = None) -> MailSuppression:
    """Put ``email`` on the organization's suppression list (idempotent; a bounce or
    complaint overrides an unsubscribe, never the other way round) and return its row.
    With ``actor`` (a person or key reporting it through the API) the change is audited,
    without the address."""
    if reason not in SUPPRESSION_REASONS:
        raise ValueError(f"unknown suppression reason {reason!r}")
    row = find_suppression(session, org_id, email)
    if row is None:
        row = MailSuppression(org_id=org_id, email=email, reason=reason)
        session.add(row)
    elif reason != "unsubscribed":
        row.reason = reason
    session.flush()
    if actor is not None:
        record(session, org_id=org_id, actor=actor, action="mail_suppression.created",
               resource_type="mail_suppression", resource_id=None, after={"reason": reason})
    return row


def lift_unsubscribe(session: Session, org_id: str, email: str) -> None:
    """A new opt-in is a new request to be mailed: an earlier unsubscribe no longer
    applies (bounces and complaints stay)."""
    cond = _suppression_filter(session, org_id, email)
    if cond is not None:
        session.execute(sa.delete(MailSuppression).where(
            cond, MailSuppression.reason == "unsubscribed"))


def pending_count(session: Session, org_id: str) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(MailMessage).where(
        MailMessage.org_id == org_id, MailMessage.status == "pending")) or 0

