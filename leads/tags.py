"""Lead tags: short labels that segment leads (a campaign can go to the leads with a tag)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy.orm import Session

from kernel.errors import DomainError
from kernel.metadata.audit import Actor, record
from kernel.metadata.models import Lead

TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_TAGS = 20


class TagError(DomainError):
    """A tag that is not a short lower-case label, or too many of them."""

    code = "invalid"


def normalize_tags(tags: Iterable[object]) -> list[str]:
    """Lower-cased, de-duplicated, sorted tags.

    Raises:
        TagError: a tag is not 1-40 characters of a-z, 0-9, '-' or '_', or more than 20.
    """
    out: set[str] = set()
    for tag in tags:
        value = str(tag).strip().lower()
        if not TAG.match(value):
            raise TagError(f"{str(tag)[:50]!r} is not a tag; use 1-40 characters of a-z, "
                           "0-9, '-' or '_', starting with a letter or digit",
                           [{"field": "tags"}])
        out.add(value)
    if len(out) > MAX_TAGS:
        raise TagError(f"at most {MAX_TAGS} tags per lead", [{"field": "tags"}])
    return sorted(out)


def set_tags(session: Session, lead: Lead, tags: Iterable[object], actor: Actor) -> Lead:
    """Replace ``lead``'s tags (audited with the tags only, never the address)."""
    before = list(lead.tags or [])
    lead.tags = normalize_tags(tags)
    session.flush()
    record(session, org_id=lead.org_id, actor=actor, action="lead.tagged",
           resource_type="lead", resource_id=lead.id, before={"tags": before},
           after={"tags": lead.tags})
    return lead


def has_any_tag(lead: Lead, tags: Iterable[str]) -> bool:
    wanted = set(tags)
    return not wanted or bool(wanted & set(lead.tags or []))
