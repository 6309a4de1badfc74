"""Envelope encryption of personal data: AES-256-GCM under per-organization data keys.

Each organization has one random 256-bit data key, stored only wrapped (AES-256-GCM) by the
master key (``LODESTONE_MASTER_KEY``) in ``org_data_keys``, with the id of the master key
that wrapped it. Rotating the master key re-wraps the data keys (:func:`rotate`); the data
itself is not re-encrypted, so old ciphertexts stay readable, and old master keys listed in
``LODESTONE_MASTER_KEYS_OLD`` keep unwrapping until the rotation has run.

Sealed values are ``0x01 | nonce (12) | ciphertext+tag``; the associated data binds a
value to its organization and column, so a ciphertext copied elsewhere does not open.
Lookups by email use a blind index: HMAC-SHA256 of the normalized address under a key
derived (HKDF) from the organization's data key. Team accounts' emails are the exception:
signing in looks an address up across organizations, so their index is keyed by a key
derived from the master key (:meth:`Keyring.account_indexes`, re-computed by :func:`rotate`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kernel.secret_file import KEY_BYTES, parse_master_key

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kernel.settings import Settings

FORMAT = b"\x01"
NONCE = 12


class KeyringError(RuntimeError):
    """A key is missing or wrong; the message says which setting to fix."""


def key_id(master: bytes) -> str:
    """A short public fingerprint of a master key (stored beside each wrap)."""
    return hashlib.sha256(b"lodestone master key id" + master).hexdigest()[:16]


def normalize_email(value: str) -> str:
    return value.strip().lower()


def _aad(org_id: str, purpose: str) -> bytes:
    return f"{org_id}\x00{purpose}".encode()


@dataclass(frozen=True)
class DataKey:
    org_id: str
    key: bytes
    index_key: bytes = field(repr=False)

    @classmethod
    def of(cls, org_id: str, key: bytes) -> DataKey:
        index = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                     info=b"lodestone blind index v1").derive(key)
        return cls(org_id, key, index)

    def seal(self, plain: bytes, purpose: str) -> bytes:
        nonce = os.urandom(NONCE)
        return FORMAT + nonce + AESGCM(self.key).encrypt(nonce, plain, _aad(self.org_id, purpose))

    def open(self, sealed: bytes, purpose: str) -> bytes:
        if sealed[:1] != FORMAT:
            raise KeyringError(f"unknown ciphertext format for {purpose}")
        try:
            return AESGCM(self.key).decrypt(sealed[1:1 + NONCE], sealed[1 + NONCE:],
                                            _aad(self.org_id, purpose))
        except InvalidTag:
            raise KeyringError(f"a {purpose} value of organization {self.org_id} does not "
                            "decrypt under its data key (altered or copied from elsewhere)") from None

    def blind_index(self, email: str) -> str:
        return hmac.new(self.index_key, normalize_email(email).encode(), "sha256").hexdigest()


class Keyring:
    """The master keys (current first) and a cache of unwrapped data keys.

    Data keys created in a session are cached only once that session commits (a rolled
    back key must never encrypt anything that outlives it).
    """

    def __init__(self, current: bytes, old: tuple[bytes, ...] = ()) -> None:
        self.current = current
        self.current_id = key_id(current)
        self.masters = {key_id(k): k for k in (current, *old)}
        self._account_keys = [self._account_key(k) for k in (current, *old)]
        self._cache: dict[str, DataKey] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        old = tuple(parse_master_key(k, "LODESTONE_MASTER_KEYS_OLD")
                    for k in settings.master_keys_old.split(",") if k.strip())
        return cls(parse_master_key(settings.master_key), old)

    # -- team accounts' blind index ---------------------------------------------------------
    @staticmethod
    def _account_key(master: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=b"lodestone account email index v1").derive(master)

    def account_index(self, email: str) -> str:
        """The blind index of a team account's email under the current master key: the same
        in every organization, so one indexed query finds an address's accounts."""
        return self.account_indexes(email)[0]

    def account_indexes(self, email: str) -> list[str]:
        """The index under the current master key, then under each old one (rows indexed
        before a rotation keep the old index until :func:`rotate` re-computes it)."""
        plain = normalize_email(email).encode()
        return [hmac.new(k, plain, "sha256").hexdigest() for k in self._account_keys]

    # -- wrapping ----------------------------------------------------------------------------
    def wrap(self, org_id: str, key: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return FORMAT + nonce + AESGCM(self.current).encrypt(nonce, key, _aad(org_id, "data key"))

    def unwrap(self, org_id: str, wrapped: bytes, master_id: str) -> bytes:
        master = self.masters.get(master_id)
        if master is None:
            raise KeyringError(
                f"the data key of organization {org_id} is wrapped by master key {master_id}, "
                f"which is neither LODESTONE_MASTER_KEY ({self.current_id}) nor one of "
                "LODESTONE_MASTER_KEYS_OLD; set the master key this database was created with")
        try:
            return AESGCM(master).decrypt(wrapped[1:1 + NONCE], wrapped[1 + NONCE:],
                                          _aad(org_id, "data key"))
        except InvalidTag:
            raise KeyringError(f"the data key of organization {org_id} does not unwrap under "
                            f"master key {master_id}") from None

    # -- data keys ---------------------------------------------------------------------------
    def cached(self, org_id: str) -> DataKey | None:
        """The organization's data key if this process already holds it (no query)."""
        return self._cache.get(org_id)

    def data_key(self, session: Session, org_id: str) -> DataKey:
        """The organization's data key: cached, read and unwrapped, or created."""
        cached = self._cache.get(org_id) or session.info.get("new_data_keys", {}).get(org_id)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        from kernel.metadata.models import OrgDataKey

        row = session.execute(sa.select(OrgDataKey.wrapped, OrgDataKey.master_key_id)
                              .where(OrgDataKey.org_id == org_id)).first()
        if row is not None:
            dk = DataKey.of(org_id, self.unwrap(org_id, row.wrapped, row.master_key_id))
            with self._lock:
                self._cache[org_id] = dk
            return dk
        dk = DataKey.of(org_id, os.urandom(KEY_BYTES))
        session.execute(sa.insert(OrgDataKey).values(
            org_id=org_id, version=1, wrapped=self.wrap(org_id, dk.key),
            master_key_id=self.current_id))
        session.info.setdefault("new_data_keys", {})[org_id] = dk
        return dk

    def committed(self, session: Session) -> None:
        new = session.info.pop("new_data_keys", {})
        with self._lock:
            self._cache.update(new)

    def rolled_back(self, session: Session) -> None:
        session.info.pop("new_data_keys", None)


_KEYRINGS: dict[tuple[str, str], Keyring] = {}
_KEYRINGS_LOCK = threading.Lock()


def keyring_for_settings(settings: Settings) -> Keyring:
    """One keyring per master-key configuration per process (its cache is shared)."""
    ident = (settings.master_key, settings.master_keys_old)
    with _KEYRINGS_LOCK:
        ring = _KEYRINGS.get(ident)
        if ring is None:
            ring = _KEYRINGS[ident] = Keyring.from_settings(settings)
        return ring


def keyring_for(session: Session) -> Keyring:
    """The session's keyring (``make_session_factory(engine, settings)``), else the
    process settings' one."""
    ring = session.info.get("keyring")
    if ring is None:
        from kernel.settings import get_settings

        ring = keyring_for_settings(get_settings())
    return ring  # type: ignore[no-any-return]


def email_index(session: Session, org_id: str, email: str) -> str | None:
    """The blind index of ``email`` in ``org_id`` (HMAC under the organization's key), or
    None when the organization has no data key yet (so nothing sealed to look up). Lookups
    by email (leads, the mail suppression list) compare this, never the address."""
    from kernel.metadata.models import OrgDataKey

    ring = keyring_for(session)
    if ring.cached(org_id) is None and not session.scalar(
            sa.select(OrgDataKey.org_id).where(OrgDataKey.org_id == org_id)):
        return None
    with session.no_autoflush:
        return ring.data_key(session, org_id).blind_index(email)


def check_master_key(session: Session, ring: Keyring) -> str | None:
    """None when every wrapped data key opens with the configured master keys, else one
    line naming what is wrong (servers print it and exit)."""
    from kernel.metadata.models import OrgDataKey

    try:
        rows = session.execute(sa.select(OrgDataKey.org_id, OrgDataKey.wrapped,
                                         OrgDataKey.master_key_id)).all()
    except sa.exc.SQLAlchemyError:
        return None  # no schema yet: the schema check reports that
    for row in rows:
        try:
            ring.unwrap(row.org_id, row.wrapped, row.master_key_id)
        except KeyringError as exc:
            return (f"wrong master key: {exc}. Without it the leads' personal data cannot be "
                    "read (docs/security.md)")
    return None


def rotate(session: Session, ring: Keyring) -> int:
    """Re-wrap every data key not yet wrapped by the current master key; returns how many.

    Each row is updated only if it still has the wrap that was read, so two rotations at
    once (or a rotation racing a reader) never lose a key; the caller commits.
    """
    from kernel.metadata.models import OrgDataKey
    from kernel.metadata.types import utcnow

    rows = session.execute(sa.select(OrgDataKey.org_id, OrgDataKey.wrapped,
                                     OrgDataKey.master_key_id)
                           .where(OrgDataKey.master_key_id != ring.current_id)).all()
    done = 0
    for row in rows:
        key = ring.unwrap(row.org_id, row.wrapped, row.master_key_id)
        result = session.execute(
            sa.update(OrgDataKey)
            .where(OrgDataKey.org_id == row.org_id, OrgDataKey.wrapped == row.wrapped)
            .values(wrapped=ring.wrap(row.org_id, key), master_key_id=ring.current_id,
                    rotated_at=utcnow()))
        done += result.rowcount  # type: ignore[attr-defined]
    reindex_accounts(session, ring)
    return done


def reindex_accounts(session: Session, ring: Keyring) -> int:
    """Re-compute team accounts' email index under the current master key (after a
    rotation); returns how many rows changed. Each email is decrypted with its
    organization's data key."""
    from kernel.metadata.models import User

    done = 0
    rows = session.execute(sa.select(User.id, User.org_id, User.email_ct, User.email_index)).all()
    for row in rows:
        email = ring.data_key(session, row.org_id).open(bytes(row.email_ct), "users.email").decode()
        index = ring.account_index(email)
        if row.email_index != index:
            session.execute(sa.update(User).where(User.id == row.id).values(email_index=index))
            done += 1
    return done


def master_key_problem(settings: Settings) -> str | None:
    """:func:`check_master_key` on the settings' metadata database (servers' start-up)."""
    from kernel.metadata.db import make_engine, make_session_factory

    engine = make_engine(settings.resolved_metadata_url)
    try:
        with make_session_factory(engine, settings)() as session:
            return check_master_key(session, keyring_for_settings(settings))
    finally:
        engine.dispose()


def account_email_indexes(session: Session, email: str) -> list[str]:
    """The blind indexes a team account's ``email`` may be stored under (current master
    key first); sign-in and the users' routes compare ``User.email_index`` with these."""
    return keyring_for(session).account_indexes(email)
