"""Creating and editing a magnet's record (its workflow is content/workflow.py).

Rules: a slug is unique in the organization, the site must be the organization's, and slug,
content and design change only while the magnet is a draft (a reviewed magnet must be
withdrawn to draft first, so nothing published changes without a new review). Each
function audits in the caller's session; the caller commits.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.errors import ConflictError, NotFoundError
from kernel.metadata.audit import Actor, record, snapshot
from kernel.metadata.enums import MagnetStatus
from kernel.metadata.models import LeadMagnet, Site

#: Fields frozen once a magnet leaves draft.
FROZEN_FIELDS = ("slug", "content", "design")


def _check_site(session: Session, org_id: str, site_id: str | None) -> None:
    if site_id is not None and session.scalar(
            sa.select(Site.id).where(Site.id == site_id, Site.org_id == org_id)) is None:
        raise NotFoundError("site", site_id)


def _check_slug(session: Session, org_id: str, slug: str, magnet_id: str | None = None) -> None:
    existing = session.scalar(sa.select(LeadMagnet.id).where(
        LeadMagnet.org_id == org_id, LeadMagnet.slug == slug))
    if existing is not None and existing != magnet_id:
        raise ConflictError(f"slug {slug!r} is already used by magnet {existing}")


def create_magnet(session: Session, org_id: str, actor: Actor, values: dict[str, Any],
                  created_by: str | None = None) -> LeadMagnet:
    """A new draft magnet of ``org_id`` (values: LeadMagnet columns)."""
    _check_site(session, org_id, values.get("site_id"))
    _check_slug(session, org_id, values["slug"])
    magnet = LeadMagnet(org_id=org_id, **values, status=MagnetStatus.DRAFT,
                        created_by=created_by)
    session.add(magnet)
    session.flush()
    record(session, org_id=org_id, actor=actor, action="magnet.created",
           resource_type="magnet", resource_id=magnet.id, after=snapshot(magnet))
    return magnet


def update_magnet(session: Session, magnet: LeadMagnet, actor: Actor,
                  changes: dict[str, Any]) -> LeadMagnet:
    """Apply ``changes`` (None for name, slug, content or design means "unchanged"; other
    fields may be cleared with None), audited with before and after."""
    changes = {k: v for k, v in changes.items()
               if not (v is None and k in ("name", "slug", "content", "design"))}
    frozen = [f for f in FROZEN_FIELDS if f in changes and changes[f] != getattr(magnet, f)]
    if frozen and magnet.status != MagnetStatus.DRAFT:
        raise ConflictError(
            f"{', '.join(frozen)} of a {MagnetStatus(magnet.status).value} magnet cannot "
            f"change; move it back to draft first (POST /v1/magnets/{magnet.id}/withdraw)")
    if "site_id" in changes:
        _check_site(session, magnet.org_id, changes["site_id"])
    if changes.get("slug"):
        _check_slug(session, magnet.org_id, changes["slug"], magnet.id)
    before = snapshot(magnet)
    if "content" in changes and changes["content"] != magnet.content:
        magnet.content_version += 1  # editors holding the old version get a 409 (documents.py)
    for field, value in changes.items():
        setattr(magnet, field, value)
    session.flush()
    record(session, org_id=magnet.org_id, actor=actor, action="magnet.updated",
           resource_type="magnet", resource_id=magnet.id, before=before, after=snapshot(magnet))
    return magnet
