"""The development secret: random per data directory, never a constant in code.

A constant default (``dev-secret-change-me``) let anyone forge an admin session on a
server started without ``LODESTONE_SECRET_KEY`` (issue #18). In development the secret is
now 256 random bits generated the first time a process loads settings on a data directory
(``lodestone init`` or the first start) and kept in ``<data_dir>/secret_key`` (mode 0600).
Production refuses secrets with less than 32 random bytes' worth of estimated entropy.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import secrets
import string
from collections.abc import Callable
from pathlib import Path

SECRET_FILE = "secret_key"
#: 32 random bytes, as estimated below: token_urlsafe(32) scores 245-281, token_hex(32) 256.
MIN_ENTROPY_BITS = 240


MASTER_KEY_FILE = "master_key"
KEY_BYTES = 32


def parse_master_key(text: str, variable: str = "LODESTONE_MASTER_KEY") -> bytes:
    """32 bytes from their base64 text, or a :class:`ValueError` naming ``variable``."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ValueError(f"{variable} must be 32 random bytes in base64 (python -c 'import "
                         "base64, os; print(base64.b64encode(os.urandom(32)).decode())')")
    return raw



def dev_master_key(data_dir: Path) -> str:
    """The data directory's master key (32 random bytes, base64), created when missing.

    Development and tests only: production refuses to start without LODESTONE_MASTER_KEY,
    since a key beside the database protects nothing against a copy of the directory.
    """
    return dev_secret(data_dir, MASTER_KEY_FILE,
                      lambda: base64.b64encode(secrets.token_bytes(32)).decode())


def dev_secret(data_dir: Path, name: str = SECRET_FILE,
               make: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
    """The data directory's secret ``name``, created (0600, atomically) when missing."""
    path = data_dir / name
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (make() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process won the race: use theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text().strip()
    if not value:
        raise FileNotFoundError(path)
    return value


def entropy_bits(secret: str) -> float:
    """A conservative estimate: length x log2(alphabet), discounted for repeated characters.

    ``token_urlsafe(32)`` scores ~280, ``token_hex(32)`` 256, ``token_hex(16)`` 128 and
    ``"x" * 40`` about 23.
    """
    if not secret:
        return 0.0
    if all(c in string.hexdigits for c in secret):
        alphabet = 16
    else:
        alphabet = sum(size for chars, size in ((string.ascii_lowercase, 26),
                                                (string.ascii_uppercase, 26),
                                                (string.digits, 10)) if any(c in chars for c in secret))
        if any(c not in string.ascii_letters + string.digits for c in secret):
            alphabet += 32
    distinct = len(set(secret))
    spread = min(1.0, distinct / 8)  # random text of this length uses 8+ symbols, always
    return len(secret) * math.log2(alphabet) * spread
