"""Who a privacy request is about: an email, lead ids and visitor ids, resolved per organization.

A person is named by one identifier (email, lead id or visitor id); resolving it follows the
links the product keeps (a lead carries the visitor id it opted in with, and its email names
every other lead of that person), so every store can be searched for all of them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.errors import DomainError, NotFoundError
from kernel.metadata.models import Lead
from leads.service import find_lead_ids_by_email

#: Written where a person's identifier is cut out of a kept text (an AI prompt, an audit note).
REDACTED = "[erased]"
#: A visitor id shorter than this is not searched for as free text (too many false hits).
MIN_NEEDLE = 6


class SubjectError(DomainError):
    """The request does not name exactly one person."""


@dataclass(frozen=True)
class Subject:
    """One person of one organization, by every identifier known for them."""

    org_id: str
    email: str | None = None
    lead_ids: tuple[str, ...] = ()
    visitor_ids: tuple[str, ...] = ()
    named_by: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def needles(self) -> list[str]:
        """Strings whose presence anywhere means the person's data is there."""
        out = [self.email] if self.email else []
        return out + [v for v in self.visitor_ids if len(v) >= MIN_NEEDLE]

    @property
    def is_empty(self) -> bool:
        return not (self.email or self.lead_ids or self.visitor_ids)

    def to_json(self) -> dict[str, Any]:
        return {"email": self.email, "lead_ids": list(self.lead_ids),
                "visitor_ids": list(self.visitor_ids), "named_by": dict(self.named_by)}

    @classmethod
    def from_json(cls, org_id: str, data: dict[str, Any]) -> Subject:
        return cls(org_id, data.get("email"), tuple(data.get("lead_ids") or ()),
                   tuple(data.get("visitor_ids") or ()), dict(data.get("named_by") or {}))

    def with_visitors(self, visitor_ids: list[str]) -> Subject:
        merged = tuple(dict.fromkeys([*self.visitor_ids, *(v for v in visitor_ids if v)]))
        return Subject(self.org_id, self.email, self.lead_ids, merged, self.named_by)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def subject_hash(secret_key: str, org_id: str, named_by: dict[str, str]) -> str:
    """Keyed HMAC-SHA256 of how the person was named: lets an operator check "was this
    person's erasure done?" given the identifier, without the record holding it."""
    kind, value = next(iter(sorted(named_by.items())))
    value = normalize_email(value) if kind == "email" else value
    msg = f"privacy-subject:{org_id}:{kind}:{value}".encode()
    return hmac.new(secret_key.encode(), msg, hashlib.sha256).hexdigest()


def named_by(email: str | None, lead_id: str | None, visitor_id: str | None) -> dict[str, str]:
    """The one identifier a request names, checked."""
    given = {k: v for k, v in (("email", email), ("lead_id", lead_id),
                                ("visitor_id", visitor_id)) if v}
    if len(given) != 1:
        raise SubjectError("name the person by exactly one of email, lead_id or visitor_id",
                           [{"given": sorted(given)}])
    if "email" in given:
        given["email"] = normalize_email(given["email"])
        if "@" not in given["email"]:
            raise SubjectError(f"{given['email']!r} is not an email address")
    return given


def resolve(session: Session, org_id: str, ident: dict[str, str]) -> Subject:
    """Every lead and visitor id of the person ``ident`` names in ``org_id``.

    Raises:
        NotFoundError: a lead id that is not one of the organization's (another
            organization's person is a 404, never a hint that they exist). An email or a
            visitor id nobody knows is a person with no data: erasing it removes nothing.
    """
    emails: set[str] = set()
    visitors: set[str] = set()
    leads: set[str] = set()
    if "lead_id" in ident:
        lead = session.scalars(sa.select(Lead).where(Lead.org_id == org_id,
                                                     Lead.id == ident["lead_id"])).first()
        if lead is None:
            raise NotFoundError("lead", ident["lead_id"])
        emails.add(normalize_email(lead.email))
    emails |= {ident["email"]} if "email" in ident else set()
    visitors |= {ident["visitor_id"]} if "visitor_id" in ident else set()
    for _ in range(3):  # email -> leads -> visitor ids -> leads -> emails: a fixed point
        before = (len(emails), len(visitors), len(leads))
        for email in sorted(emails):
            leads.update(find_lead_ids_by_email(session, org_id, email))
        # Whole rows: a lead's email is stored encrypted (kernel.metadata.sealed) and only
        # an ORM object decrypts it.
        if visitors:
            for lead in session.scalars(sa.select(Lead).where(
                    Lead.org_id == org_id, Lead.visitor_id.in_(sorted(visitors)))):
                leads.add(lead.id)
                emails.add(normalize_email(lead.email))
        if leads:
            for lead in session.scalars(sa.select(Lead).where(
                    Lead.org_id == org_id, Lead.id.in_(sorted(leads)))):
                emails.add(normalize_email(lead.email))
                if lead.visitor_id:
                    visitors.add(lead.visitor_id)
        if (len(emails), len(visitors), len(leads)) == before:
            break
    if len(emails) > 1:
        # One visitor id shared by two people (a family computer): erase by email instead.
        raise SubjectError("this visitor id is linked to leads with different emails; name "
                           "the person by email", [{"emails": len(emails)}])
    return Subject(org_id, next(iter(emails), None), tuple(sorted(leads)),
                   tuple(sorted(visitors)), dict(ident))


def pattern(needles: list[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for every needle (emails are matched in any case)."""
    if not needles:
        return None
    return re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)),
                      re.IGNORECASE)


def redact(value: Any, needles: list[str]) -> Any:
    """``value`` (text or JSON) with every needle replaced by :data:`REDACTED`."""
    rx = pattern(needles)
    return _redact(value, rx) if rx else value


def _redact(value: Any, rx: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return rx.sub(REDACTED, value)
    if isinstance(value, dict):
        return {_redact(k, rx): _redact(v, rx) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, rx) for v in value]
    return value


def mentions(value: Any, needles: list[str]) -> bool:
    """Whether text or JSON ``value`` contains any needle."""
    return redact(value, needles) != value
