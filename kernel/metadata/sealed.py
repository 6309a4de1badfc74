"""Personal fields stored only encrypted: ``lead.email`` reads and writes plain text, the
table holds ``email_ct`` (AES-256-GCM under the organization's data key, kernel.crypto).

A :class:`Sealed` attribute encrypts when the row is flushed (or at once on a row already
in a session) and decrypts on first read, caching the plain value on the object. It is not
a column: ``Lead.email == x`` raises; look a lead up by its blind index
(``leads.service.find_lead_ids_by_email``). Like JSON columns, a dict read from a sealed
JSON field must be reassigned, not mutated in place, to be saved.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction, attributes, object_session

from kernel.crypto import Keyring, KeyringError, keyring_for

_PLAIN = "_sealed_plain"
_PENDING = "_sealed_pending"
_RING = "_sealed_ring"


class Sealed:
    """A plain-text (or JSON) view of an encrypted column.

    Args:
        column: attribute name of the ``LargeBinary`` column that holds the ciphertext.
        json_value: the value is JSON (dicts, lists) rather than text.
        index: attribute name of a blind-index column kept in step (emails).
        normalize: applied to a value before it is stored (e.g. lower-casing emails).
        empty: what a NULL ciphertext reads as (a fresh copy each time when callable).
        account_index: key the blind index by the master key (``Keyring.account_index``)
            rather than the organization's data key, so an address is found across
            organizations (team accounts' emails, for sign-in).
    """

    def __init__(self, column: str, *, json_value: bool = False, index: str | None = None,
                 normalize: Callable[[Any], Any] | None = None,
                 empty: Callable[[], Any] | None = None, account_index: bool = False) -> None:
        self.column, self.json_value, self.index = column, json_value, index
        self.account_index = account_index
        self.normalize, self.empty = normalize, empty
        self.name = self.purpose = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.purpose = f"{owner.__tablename__}.{name}"  # type: ignore[attr-defined]

    def __eq__(self, other: object) -> bool:  # Model.email == x in a query
        raise TypeError(f"{self.purpose} is encrypted and cannot be compared in SQL; look "
                        "it up by its blind index")

    __hash__ = object.__hash__

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        plain = obj.__dict__.setdefault(_PLAIN, {})
        if self.name in plain:
            return plain[self.name]
        sealed = getattr(obj, self.column)
        if sealed is None:
            return self.empty() if self.empty else None
        raw = _data_key(obj).open(sealed, self.purpose)
        value = json.loads(raw) if self.json_value else raw.decode()
        plain[self.name] = value
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        if value is not None and self.normalize is not None:
            value = self.normalize(value)
        obj.__dict__.setdefault(_PLAIN, {})[self.name] = value
        obj.__dict__.setdefault(_PENDING, set()).add(self.name)
        if attributes.instance_state(obj).has_identity:
            attributes.flag_modified(obj, self.column)

    def seal(self, obj: Any, ring: Keyring, session: Session) -> None:
        value = obj.__dict__[_PLAIN][self.name]
        if value is None:
            setattr(obj, self.column, None)
            if self.index:
                setattr(obj, self.index, None)
            return
        key = ring.data_key(session, obj.org_id)
        raw = json.dumps(value, separators=(",", ":")).encode() if self.json_value \
            else str(value).encode()
        setattr(obj, self.column, key.seal(raw, self.purpose))
        if self.index:
            setattr(obj, self.index, ring.account_index(str(value)) if self.account_index
                    else key.blind_index(str(value)))


def sealed_fields(cls: type) -> dict[str, Sealed]:
    return {name: attr for klass in reversed(cls.__mro__)
            for name, attr in vars(klass).items() if isinstance(attr, Sealed)}


def _data_key(obj: Any) -> Any:
    session = object_session(obj)
    ring: Keyring | None = keyring_for(session) if session is not None \
        else obj.__dict__.get(_RING)
    if ring is None:
        raise KeyringError(f"{type(obj).__name__} {getattr(obj, 'id', '')} is detached from its "
                           "session and was never decrypted")
    obj.__dict__[_RING] = ring
    if session is None:
        cached = ring.cached(obj.org_id)
        if cached is None:
            raise KeyringError(f"no data key cached for organization {obj.org_id}")
        return cached
    with session.no_autoflush:
        return ring.data_key(session, obj.org_id)


@event.listens_for(Session, "before_flush")
def _seal_pending(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    ring: Keyring | None = None
    for obj in (*session.new, *session.dirty):
        pending = obj.__dict__.get(_PENDING)
        if not pending:
            continue
        ring = ring or keyring_for(session)
        obj.__dict__[_RING] = ring
        fields = sealed_fields(type(obj))
        for name in sorted(pending):
            fields[name].seal(obj, ring, session)
        pending.clear()


@event.listens_for(Session, "after_commit")
def _keys_committed(session: Session) -> None:
    if "new_data_keys" in session.info:
        keyring_for(session).committed(session)


@event.listens_for(Session, "after_soft_rollback")
def _keys_rolled_back(session: Session, _previous: Any) -> None:
    session.info.pop("new_data_keys", None)


def forget_plain(obj: Any) -> None:
    """Drop decrypted values (after a refresh the ciphertext may have changed)."""
    obj.__dict__.pop(_PLAIN, None)


def register(cls: type) -> None:
    """Wire a model with sealed fields: a refresh or expiry drops cached plain values, and
    a row loaded from the database remembers its session's keyring."""

    @event.listens_for(cls, "refresh")
    def _refresh(target: Any, _ctx: Any, _attrs: Any) -> None:
        if not target.__dict__.get(_PENDING):
            forget_plain(target)

    @event.listens_for(cls, "load")
    def _load(target: Any, ctx: Any) -> None:
        forget_plain(target)
        ring = target.__dict__[_RING] = keyring_for(ctx.session)
        if ring.cached(target.org_id) is None:  # one query per organization and process, so
            with ctx.session.no_autoflush:    # a row read after its session closed opens
                ring.data_key(ctx.session, target.org_id)
