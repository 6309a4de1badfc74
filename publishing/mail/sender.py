"""Turning a queued mail into a MIME message and handing it to SMTP (or a folder).

The message is ``multipart/alternative`` (text, then HTML) with a ``Message-ID``, and for
mails that may be unsubscribed from, ``List-Unsubscribe`` (the one-click URL) and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058). Header values go through
``email.policy.SMTP``, which refuses CR/LF inside a header, so no queued value can add a
header (``Bcc:`` injection) even if a caller forgot to clean it. With a DKIM key configured
every message is signed (dkimpy) before it leaves.
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

import dkim

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


@dataclass(frozen=True)
class DkimSigner:
    """DKIM signing (RFC 6376, rsa-sha256, relaxed/simple) for ``domain`` with the key
    published at ``<selector>._domainkey.<domain>``."""

    selector: str
    domain: str
    private_key: bytes

    #: Headers covered by the signature (those present in the message).
    HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"list-unsubscribe",
               b"list-unsubscribe-post", b"mime-version", b"content-type")

    def sign(self, data: bytes) -> bytes:
        """``data`` with a ``DKIM-Signature`` header in front."""
        present = {line.split(b":", 1)[0].strip().lower()
                   for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n") if b":" in line}
        header = dkim.sign(data, self.selector.encode(), self.domain.encode(),
                           self.private_key,
                           include_headers=[h for h in self.HEADERS if h in present])
        return bytes(header) + data


def make_signer(selector: str, key_file: str, sender: str) -> DkimSigner | None:
    """The DKIM signer the settings ask for, or None (both settings empty)."""
    if not selector and not key_file:
        return None
    if not (selector and key_file):
        raise ValueError("set both LODESTONE_DKIM_SELECTOR and LODESTONE_DKIM_KEY_FILE, "
                         "or neither")
    domain = parseaddr(sender)[1].rpartition("@")[2]
    if not domain:
        raise ValueError("LODESTONE_MAIL_FROM needs an address with a domain for DKIM")
    return DkimSigner(selector, domain, Path(key_file).read_bytes())


def wire_bytes(msg: EmailMessage, signer: DkimSigner | None = None) -> bytes:
    """The message as sent (CRLF line ends), DKIM-signed when ``signer`` is given."""
    data = msg.as_bytes(policy=SMTP)
    return signer.sign(data) if signer is not None else data


class Transport(Protocol):
    def send(self, msg: EmailMessage, data: bytes) -> None:
        """Send ``msg`` whose final bytes (possibly signed) are ``data``."""

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

    def send(self, msg: EmailMessage, data: bytes) -> None:
        sender = parseaddr(str(msg["From"]))[1]
        rcpt = parseaddr(str(msg["To"]))[1]
        for attempt in (1, 2):  # a kept connection may have been closed by the server
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.sendmail(sender, [rcpt], data)
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

    def send(self, msg: EmailMessage, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = str(msg["Message-ID"]).strip("<>").replace("/", "_").replace("@", "_at_")
        path = self.directory / f"{name}.eml"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
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
