"""The mail worker: claims due mails with a lease, sends them, retries with backoff.

``send_due`` does one pass; ``MailWorker`` runs it in a daemon thread of the API process,
every second and right after a commit that queued mail (``outbox.QUEUED``). Several
workers may run at once: a claim is a conditional update that only one of them wins, and
a crashed worker's claims become due again when the lease ends. Each organization sends
at most ``per_minute`` mails a minute; the rest stay due for a later pass.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from kernel.metadata.models import MailMessage
from kernel.metadata.types import utcnow
from publishing.campaigns import consent_withdrawn
from publishing.mail.outbox import QUEUED, suppress, suppression
from publishing.mail.sender import (
    DkimSigner,
    PermanentMailError,
    Transport,
    build_message,
    wire_bytes,
)

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=120)
POLL_S = 1.0
FIRST_RETRY = dt.timedelta(seconds=30)
MAX_RETRY = dt.timedelta(hours=6)


def retry_delay(attempts: int) -> dt.timedelta:
    """Wait before attempt ``attempts + 1``: 30 s, doubling, capped at 6 h."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


@dataclass
class MailPass:
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    throttled: int = 0


def _claim(sessions: sessionmaker[Session], now: dt.datetime, batch: int,
           per_minute: int) -> tuple[list[str], int]:
    with sessions() as session:
        due = session.execute(
            sa.select(MailMessage.id, MailMessage.org_id)
            .where(MailMessage.status == "pending", MailMessage.next_attempt_at <= now)
            .order_by(MailMessage.next_attempt_at).limit(batch)).all()
        orgs = {org for _, org in due}
        sent = dict(session.execute(
            sa.select(MailMessage.org_id, sa.func.count())
            .where(MailMessage.org_id.in_(orgs), MailMessage.sent_at.is_not(None),
                   MailMessage.sent_at > now - dt.timedelta(minutes=1))
            .group_by(MailMessage.org_id)).tuples().all()) if orgs else {}
        budget: dict[str, int] = defaultdict(int)
        claimed, throttled = [], 0
        for mail_id, org_id in due:
            if sent.get(org_id, 0) + budget[org_id] >= per_minute:
                throttled += 1
                continue
            res = session.execute(
                sa.update(MailMessage)
                .where(MailMessage.id == mail_id, MailMessage.status == "pending",
                       MailMessage.next_attempt_at <= now)
                .values(next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False))
            if res.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(mail_id)
                budget[org_id] += 1
        session.commit()
        return claimed, throttled


def _deliver(session: Session, mail: MailMessage, transport: Transport, sender: str,
             now: dt.datetime, max_attempts: int, suppressed: str | None,
             signer: DkimSigner | None = None) -> str:
    if suppressed is not None:
        mail.status, mail.error, mail.next_attempt_at = "suppressed", suppressed, None
        return "suppressed"
    try:
        msg = build_message(mail, sender)
        data = wire_bytes(msg, signer)
    except ValueError as exc:  # e.g. a line break in a header value: never sendable
        mail.status, mail.next_attempt_at = "gave_up", None
        mail.error = f"cannot build this mail: {exc}"[:2000]
        return "gave_up"
    mail.attempts += 1
    try:
        transport.send(msg, data)
    except PermanentMailError as exc:
        mail.status, mail.error, mail.next_attempt_at = "gave_up", str(exc)[:2000], None
        suppress(session, mail.org_id, mail.to_addr, "bounced")
    except Exception as exc:  # transient: the server is away or said 4xx
        mail.error = f"{type(exc).__name__}: {exc}"[:2000]
        if mail.attempts >= max_attempts:
            mail.status, mail.next_attempt_at = "gave_up", None
        else:
            mail.next_attempt_at = now + retry_delay(mail.attempts)
    else:
        mail.status, mail.sent_at, mail.next_attempt_at, mail.error = "sent", now, None, None
    return mail.status


def _send_claimed(sessions: sessionmaker[Session], claimed: list[str], transport: Transport,
                  sender: str, now: dt.datetime, max_attempts: int,
                  signer: DkimSigner | None) -> list[str]:
    """Send claimed mails in one session; each outcome is committed right after its send,
    so a crash repeats at most the one mail in flight (at-least-once)."""
    with sessions() as session:
        mails = session.scalars(sa.select(MailMessage).where(MailMessage.id.in_(claimed))
                                ).all()
        out = []
        for mail in mails:
            if mail.status != "pending":
                out.append("gone")
                continue
            # checked per mail: an unsubscribe arriving mid-batch is honoured at once
            reason = suppression(session, mail.org_id, mail.to_addr) \
                or consent_withdrawn(session, mail)
            out.append(_deliver(session, mail, transport, sender, now, max_attempts, reason,
                                signer))
            session.commit()
        return out


def send_due(sessions: sessionmaker[Session], transport: Transport, sender: str, *,
             now: dt.datetime | None = None, batch: int = 200, per_minute: int = 600,
             max_attempts: int = 8, signer: DkimSigner | None = None) -> MailPass:
    """One pass: claim the due mails (within each organization's rate) and send them."""
    now = now or utcnow()
    claimed, throttled = _claim(sessions, now, batch, per_minute)
    out = MailPass(throttled=throttled)
    for i in range(0, len(claimed), 100):
        statuses = _send_claimed(sessions, claimed[i:i + 100], transport, sender, now,
                                 max_attempts, signer)
        for status in statuses:
            if status == "sent":
                out.sent += 1
            elif status == "suppressed":
                out.suppressed += 1
            elif status != "gone":
                out.failed += 1
    return out


class MailWorker:
    """``send_due`` in a daemon thread: every ``poll_s`` and whenever mail is queued."""

    def __init__(self, sessions: sessionmaker[Session], make_transport: Callable[[], Transport],
                 sender: str, per_minute: int, max_attempts: int, poll_s: float = POLL_S,
                 before_pass: Callable[[], object] | None = None,
                 signer: DkimSigner | None = None) -> None:
        """``before_pass``: run first in every pass (the API queues due campaigns there)."""
        self.sessions, self.make_transport, self.sender = sessions, make_transport, sender
        self.before_pass, self.signer = before_pass, signer
        self.per_minute, self.max_attempts, self.poll_s = per_minute, max_attempts, poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        QUEUED.connect(self.wake)
        self._thread = threading.Thread(target=self._loop, name="lodestone-mail", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 20.0) -> None:
        QUEUED.disconnect(self.wake)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        transport = self.make_transport()
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    if self.before_pass is not None:
                        self.before_pass()
                    send_due(self.sessions, transport, self.sender,
                             per_minute=self.per_minute, max_attempts=self.max_attempts,
                             signer=self.signer)
                except Exception:  # keep the worker alive; the next pass retries
                    log.exception("mail pass failed")
                self._wake.wait(self.poll_s)
        finally:
            transport.close()
