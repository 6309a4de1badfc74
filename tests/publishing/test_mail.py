"""The mail outbox and worker against a real SMTP server: headers, retries, throttle."""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import subprocess
from pathlib import Path

import dkim
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from kernel.metadata.db import make_engine, make_session_factory, migrate
from kernel.metadata.models import MailMessage, Organization
from kernel.metadata.types import utcnow
from publishing.mail.outbox import queue_mail, suppress
from publishing.mail.sender import FolderTransport, SmtpTransport, build_message, make_signer
from publishing.mail.worker import retry_delay, send_due
from tests.helpers import free_port
from tests.publishing.conftest import Inbox

SENDER = "Acme Press <news@acme.example>"


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'mail.db'}")
    migrate(engine)
    return make_session_factory(engine)


def _org(sessions: sessionmaker[Session]) -> str:
    with sessions() as s:
        org = Organization(name="Acme", slug=f"acme-{utcnow().timestamp()}")
        s.add(org)
        s.commit()
        return org.id


def _queue(sessions: sessionmaker[Session], org_id: str, to: str, name: str = "Ada") -> str:
    with sessions() as s:
        mail = queue_mail(s, org_id, kind="campaign", to_addr=to, to_name=name,
                          subject="Hello", text_body="plain", html_body="<p>html</p>",
                          unsubscribe_url="https://go.acme.example/u/tok",
                          domain="acme.example")
        s.commit()
        return mail.id


def test_header_injection_cannot_add_a_header(sessions: sessionmaker[Session],
                                              smtp: Inbox) -> None:
    org = _org(sessions)
    _queue(sessions, org, "ada@example.com", name="Eve\r\nBcc: victim@example.com")
    with sessions() as s:
        s.add(MailMessage(org_id=org, kind="campaign", to_addr="bob@example.com",
                          to_name="X", subject="Hi\r\nBcc: victim@example.com",
                          text_body="t", html_body="h", message_id="<x@acme.example>",
                          next_attempt_at=utcnow()))
        s.commit()
        [raw] = [m for m in s.scalars(sa.select(MailMessage))
                 if m.to_addr == "bob@example.com"]
        with pytest.raises(ValueError):  # the MIME policy refuses a CR/LF header value
            build_message(raw, SENDER).as_bytes()
    out = send_due(sessions, SmtpTransport(f"smtp://127.0.0.1:{smtp.port}"), SENDER)
    assert out.sent == 1 and out.failed == 1
    (msg,) = smtp.wait_for("ada@example.com")
    assert "Bcc" not in msg and str(msg["To"]) == '"Eve Bcc: victim@example.com" <ada@example.com>'
    assert not smtp.to("victim@example.com")
    with sessions() as s:
        assert s.get_one(MailMessage, raw.id).status == "gave_up"
    assert msg["Message-ID"].endswith("@acme.example>")
    assert msg["List-Unsubscribe"] == "<https://go.acme.example/u/tok>"


def test_retries_with_backoff_then_sends(sessions: sessionmaker[Session], smtp: Inbox) -> None:
    org = _org(sessions)
    mail_id = _queue(sessions, org, "retry@example.com")
    down = SmtpTransport(f"smtp://127.0.0.1:{free_port()}", timeout=2)  # nobody listens
    now = utcnow()
    assert send_due(sessions, down, SENDER, now=now).failed == 1
    with sessions() as s:
        mail = s.get_one(MailMessage, mail_id)
        assert (mail.status, mail.attempts) == ("pending", 1) and "Connection" in mail.error
        assert mail.next_attempt_at == now + retry_delay(1)
    up = SmtpTransport(f"smtp://127.0.0.1:{smtp.port}")
    assert send_due(sessions, up, SENDER, now=now + dt.timedelta(seconds=5)).sent == 0
    assert send_due(sessions, up, SENDER, now=now + dt.timedelta(seconds=31)).sent == 1
    smtp.wait_for("retry@example.com")
    with sessions() as s:
        assert s.get_one(MailMessage, mail_id).status == "sent"
    assert retry_delay(30) == dt.timedelta(hours=6)


def test_gives_up_after_max_attempts(sessions: sessionmaker[Session]) -> None:
    org = _org(sessions)
    mail_id = _queue(sessions, org, "never@example.com")
    down = SmtpTransport(f"smtp://127.0.0.1:{free_port()}", timeout=2)
    now = utcnow()
    for i in range(3):
        send_due(sessions, down, SENDER, now=now + dt.timedelta(days=i), max_attempts=3)
    with sessions() as s:
        assert s.get_one(MailMessage, mail_id).status == "gave_up"


def test_throttle_per_organization_and_suppression(sessions: sessionmaker[Session],
                                                   smtp: Inbox, tmp_path: Path) -> None:
    org = _org(sessions)
    for i in range(7):
        _queue(sessions, org, f"t{i}@example.com")
    with sessions() as s:
        suppress(s, org, "T6@example.com", "complained")
        s.commit()
    transport = FolderTransport(tmp_path / "mail")
    now = utcnow()
    first = send_due(sessions, transport, SENDER, now=now, per_minute=4)
    assert (first.sent, first.throttled) == (4, 3)
    second = send_due(sessions, transport, SENDER, now=now + dt.timedelta(seconds=61),
                      per_minute=4)
    assert (second.sent, second.suppressed) == (2, 1)
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 6
    assert not list((tmp_path / "mail").glob("*.tmp"))


def test_dkim_signature_verifies(sessions: sessionmaker[Session], smtp: Inbox,
                                 tmp_path: Path) -> None:
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True,
                   capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                            check=True, capture_output=True).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    signer = make_signer("s1", str(key), SENDER)
    assert signer is not None and signer.domain == "acme.example"
    org = _org(sessions)
    _queue(sessions, org, "dkim@example.com")
    out = send_due(sessions, SmtpTransport(f"smtp://127.0.0.1:{smtp.port}"), SENDER,
                   signer=signer)
    assert out.sent == 1
    (msg,) = smtp.wait_for("dkim@example.com")
    raw = msg.as_bytes(policy=email.policy.SMTP)
    assert b"d=acme.example" in raw and b"s=s1" in raw
    asked: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:  # the published key, no network
        asked.append(name)
        return record

    assert dkim.verify(raw, dnsfunc=dns)
    assert asked == [b"s1._domainkey.acme.example."]
    assert not dkim.verify(raw.replace(b"plain", b"plaim"), dnsfunc=dns)  # body altered
    with pytest.raises(ValueError, match="both"):
        make_signer("s1", "", SENDER)
