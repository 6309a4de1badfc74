"""The opt-in: a posted form checked, a lead created (pending or confirmed), mail queued.

Every check refuses with a message a person can act on: unknown or oversized fields, a
malformed address, line breaks in a name (they would become mail headers), a missing
required consent, an altered or stale form token, a form filled faster than a person
can, a filled honeypot. Nothing is written until every check passed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from kernel.errors import DomainError
from kernel.metadata.audit import Actor
from kernel.metadata.models import Lead, LeadMagnet
from kernel.metadata.types import utcnow
from kernel.pii import PIIRefusedError, screen
from leads.service import confirm_lead, create_lead, find_lead
from leads.tags import MAX_TAGS, TAG, TagError, normalize_tags
from publishing import tokens
from publishing.landing import Assignment, PageContent
from publishing.links import Links
from publishing.mail.outbox import lift_unsubscribe
from publishing.mails import queue_confirmation, queue_delivery

ACTOR = Actor.system("landing-page")
FORM_TTL_S = 24 * 3600.0
MAX_VALUE_CHARS = 1000
MAX_NAME_CHARS = 200
FIXED_FIELDS = frozenset({"token", "email", "name", "website"})
HONEYPOT = "website"


class OptInError(DomainError):
    """The form has mistakes; ``details`` lists ``{"field", "message"}`` per mistake."""

    code = "invalid"


class BotSuspectedError(DomainError):
    """The post looks automated (honeypot filled, submitted too fast)."""

    code = "bot_suspected"


@dataclass
class OptInForm:
    email: str
    name: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    consents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def marketing(self) -> bool:
        return any(c["granted"] for c in self.consents)


def _one(value: Any) -> str:
    if isinstance(value, list | tuple):
        return str(value[-1]) if value else ""
    return str(value)


def parse_form(raw: Mapping[str, Any], content: PageContent) -> OptInForm:
    """The form's values, validated against the page's fields and consents.

    Raises:
        OptInError: with one detail per mistake.
    """
    defined = {f"field_{f['key']}": f for f in content.fields}
    purposes = {f"consent_{c['purpose']}": c for c in content.consents}
    problems: list[dict[str, str]] = []
    values = {k: _one(v) for k, v in raw.items()}
    for key, value in values.items():
        if key not in FIXED_FIELDS and key not in defined and key not in purposes:
            problems.append({"field": key[:64], "message": "this form has no such field"})
        elif len(value) > MAX_VALUE_CHARS:
            problems.append({"field": key, "message": f"{len(value)} characters is too long; "
                             f"the limit is {MAX_VALUE_CHARS}"})
    email = values.get("email", "").strip()
    if not email:
        problems.append({"field": "email", "message": "enter your email address"})
    elif len(email) <= 320:
        try:
            # stored lower-cased (kernel.metadata.models), so compared lower-cased too
            email = validate_email(email, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            problems.append({"field": "email", "message": f"this is not a valid email address "
                             f"({exc})"})
    else:
        problems.append({"field": "email", "message": "an email address is at most 320 "
                         "characters"})
    name = values.get("name", "").strip()
    if any(ch in name for ch in "\r\n\0") or any(ord(ch) < 32 for ch in name):
        problems.append({"field": "name", "message": "a name cannot contain line breaks or "
                         "control characters"})
    elif len(name) > MAX_NAME_CHARS:
        problems.append({"field": "name", "message": f"a name is at most {MAX_NAME_CHARS} "
                         "characters"})
    fields: dict[str, str] = {}
    for key, spec in defined.items():
        value = values.get(key, "").strip()
        limit = int(spec.get("max_length") or 200)
        if spec.get("required") and not value:
            problems.append({"field": key, "message": f"{spec.get('label') or spec['key']} "
                             "is required"})
        elif len(value) > limit:
            problems.append({"field": key, "message": f"at most {limit} characters"})
        elif value:
            fields[str(spec["key"])] = value
    at = utcnow().isoformat()
    consents = []
    for key, spec in purposes.items():
        granted = values.get(key, "") in ("yes", "on", "true", "1")
        if spec.get("required") and not granted:
            problems.append({"field": key, "message": "this consent is required to continue"})
        consents.append({"purpose": spec["purpose"], "granted": granted,
                         "text": spec["text"], "version": str(spec.get("version") or "1"),
                         "at": at})
    if problems:
        first = problems[0]
        raise OptInError(f"{first['field']}: {first['message']}", problems)
    return OptInForm(email=email, name=name, fields=fields, consents=consents)


def form_token(secret: str, magnet_id: str, visitor_id: str, assignment: Assignment,
               now: float | None = None) -> str:
    """The signed token embedded in the form: which magnet, visitor and arm, and when."""
    issued = time.time() if now is None else now
    return tokens.sign(secret, "form", {"m": magnet_id, "v": visitor_id,
                                        "e": assignment.experiment, "a": assignment.variant,
                                        "t": round(issued, 3)}, FORM_TTL_S, now=issued)


def check_submission(secret: str, magnet: LeadMagnet, raw: Mapping[str, Any],
                     min_fill_s: float, now: float | None = None) -> dict[str, Any]:
    """The form token's payload, after the anti-abuse checks.

    Raises:
        tokens.TokenError: token missing, altered, for another magnet or expired.
        BotSuspectedError: honeypot filled or submitted under ``min_fill_s``.
    """
    now = time.time() if now is None else now
    payload = tokens.verify(secret, "form", _one(raw.get("token", "")), now)
    if payload.get("m") != magnet.id:
        raise tokens.TokenError("this form belongs to another page; reload the page and "
                                "submit again")
    if _one(raw.get(HONEYPOT, "")).strip():
        raise BotSuspectedError("this submission filled in a hidden field; if you are a "
                                "person, reload the page and submit again")
    issued = payload.get("t")
    if not isinstance(issued, int | float) or now - issued < min_fill_s:
        raise BotSuspectedError("this form was submitted faster than a person can; wait a "
                                "moment and submit again")
    return payload


def magnet_tags(magnet: LeadMagnet) -> list[str]:
    """The tags a magnet's ``content.tags`` gives its new leads (invalid ones ignored)."""
    raw = (magnet.content or {}).get("tags")
    if not isinstance(raw, list):
        return []
    good = [t for t in raw if isinstance(t, str) and TAG.match(t.strip().lower())]
    try:
        return normalize_tags(good)
    except TagError:  # more than the limit
        return normalize_tags(sorted(set(t.strip().lower() for t in good))[:MAX_TAGS])


@dataclass
class Outcome:
    lead: Lead
    status: str  # pending | confirmed | resent
    created: bool
    confirmed_now: bool


def _screen_answers(fields: dict[str, str], policy: str) -> dict[str, str]:
    out = {}
    for key, value in fields.items():
        try:
            out[key] = screen(value, policy, "form")
        except PIIRefusedError as exc:
            raise OptInError(f"field_{key}: {exc}", [{"field": f"field_{key}",
                                                      "message": str(exc)}]) from None
    return out


def submit(session: Session, magnet: LeadMagnet, form: OptInForm, *, org_name: str,
           links: Links, visitor_id: str, variant: str, utm: dict[str, str],
           pii_policy: str = "redact") -> Outcome:
    """Create or refresh the lead and queue its mail, in ``session`` (the caller commits).

    A new lead is pending (double opt-in: a confirmation mail) or confirmed at once
    (single opt-in: a delivery mail). A repeat opt-in of a confirmed lead re-sends the
    magnet; of a pending lead, re-sends the confirmation. A new opt-in lifts an earlier
    unsubscribe (bounces and complaints stay suppressed). Personal data typed into the
    free-text answers (a phone number, a card number…) is redacted or refused per
    ``pii_policy`` (kernel.pii); the email and name fields are personal data by design.
    """
    answers = _screen_answers(form.fields, pii_policy)
    lift_unsubscribe(session, magnet.org_id, form.email)
    lead = find_lead(session, magnet.org_id, form.email, magnet_id=magnet.id)
    if lead is not None:
        if lead.confirmed_at is not None:
            queue_delivery(session, magnet, lead, org_name, links)
            return Outcome(lead, "resent", False, False)
        queue_confirmation(session, magnet, lead, org_name, links)
        return Outcome(lead, "pending", False, False)
    lead = create_lead(
        session, magnet.org_id, ACTOR, magnet_id=magnet.id, email=form.email,
        name=form.name or None, variant=variant or None, fields=answers,
        visitor_id=visitor_id[:64] or None, consent=form.marketing, consents=form.consents,
        utm=utm, tags=magnet_tags(magnet), consent_source="form")
    if magnet.double_opt_in:
        queue_confirmation(session, magnet, lead, org_name, links)
        return Outcome(lead, "pending", True, False)
    confirm_lead(session, lead, ACTOR)
    queue_delivery(session, magnet, lead, org_name, links)
    return Outcome(lead, "confirmed", True, True)
