"""Turning a queued mail into a MIME message and handing it to SMTP (or a folder).

The message is ``multipart/alternative`` (text, then HTML) with a ``Message-ID``, and for
mails that may be unsubscribed from, ``List-Unsubscribe`` (the one-click URL) and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058). Header values go through
``email.policy.SMTP``, which refuses CR/LF inside a header, so no queued value can add a
header (``Bcc:`` injection) even if a caller forgot to clean it.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from kernel.durable import fsync_dir
from kernel.metadata.models import MailMessage

log = logging.getLogger(__name__)


class PermanentMailError(RuntimeError):
    """The server refused the mail for good (5xx): retrying cannot help."""


def build_message(mail: MailMessage, sender: str) -> EmailMessage:
    """The MIME message for ``mail`` from ``sender`` (``"Name <addr>"``)."""
    msg = EmailMessage(policy=SMTP)
    name, addr = parseaddr(sender)
    msg["From"] = Address(display_name=name, addr_spec=addr)
    msg["To"] = Address(display_name=mail.to_name, addr_spec=mail.to_addr)
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = mail.message_id
    if mail.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(mail.text_body)
    msg.add_alternative(mail.html_body, subtype="html")
    return msg


class Transport(Protocol):
    def send(self, msg: EmailMessage) -> None: ...

    def close(self) -> None: ...


@dataclass
class SmtpTransport:
    """SMTP from ``smtp://[user:pass@]host[:port]`` (STARTTLS when offered) or ``smtps://``.

    One connection is kept and reopened when the server drops it.
    """

    url: str
    timeout: float = 15.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"LODESTONE_SMTP_URL must be smtp://host:port or smtps://…, "
                             f"got {parts.scheme or 'nothing'}://")
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        conn: smtplib.SMTP
        if self.tls:
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            if conn.has_extn("starttls"):
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
        if self.user:
            conn.login(self.user, self.password)
        return conn

    def send(self, msg: EmailMessage) -> None:
        for attempt in (1, 2):  # a kept connection may have been closed by the server
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.send_message(msg)
                return
            except smtplib.SMTPServerDisconnected:
                self._conn = None
                if attempt == 2:
                    raise
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
                    smtplib.SMTPSenderRefused) as exc:
                code = getattr(exc, "smtp_code", None)
                if code is None and isinstance(exc, smtplib.SMTPRecipientsRefused):
                    code = min(c for c, _ in exc.recipients.values())
                if code is not None and 500 <= code < 600:
                    raise PermanentMailError(str(exc)) from exc
                raise

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except smtplib.SMTPException:
                pass
            except OSError:
                pass
            self._conn = None


@dataclass
class FolderTransport:
    """Development: each mail becomes ``<dir>/<message id>.eml`` (temp file + rename)."""

    directory: Path

    def send(self, msg: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = str(msg["Message-ID"]).strip("<>").replace("/", "_").replace("@", "_at_")
        path = self.directory / f"{name}.eml"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(msg.as_bytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(self.directory)

    def close(self) -> None:
        pass


def make_transport(smtp_url: str, data_dir: Path) -> Transport:
    """SMTP when ``smtp_url`` is set, else the development mail folder (logged)."""
    if smtp_url:
        return SmtpTransport(smtp_url)
    folder = data_dir / "mail"
    log.warning("LODESTONE_SMTP_URL is empty: mail is NOT sent, it is written to %s", folder)
    return FolderTransport(folder)
