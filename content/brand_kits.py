"""An organization's brand kit in the metadata store (one per organization).

The kit is validated by the library's model (content.brand: WCAG AA contrast, installed
fonts, sniffed and sanitised logo); the logo's bytes live in the artifact store under their
hash, the row keeps the rest. Each function audits in the caller's session; the caller
commits.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from content.artifacts import ArtifactStore
from content.brand import BrandError, BrandKit, Logo, parse_brand, sniff_logo
from kernel.errors import DomainError
from kernel.metadata.audit import Actor, record
from kernel.metadata.models import BrandKitRecord


class BrandKitError(DomainError):
    """A brand kit or logo the library refuses (contrast, font, image); a 422."""


def get_record(session: Session, org_id: str) -> BrandKitRecord | None:
    return session.scalars(sa.select(BrandKitRecord).where(BrandKitRecord.org_id == org_id)).first()


def load_kit(session: Session, org_id: str, store: ArtifactStore) -> BrandKit | None:
    """The organization's kit with its logo, or None when it has none."""
    row = get_record(session, org_id)
    if row is None:
        return None
    kit = BrandKit.model_validate(row.kit)
    if row.logo_sha256:
        kit = kit.model_copy(update={"logo": Logo(media_type=row.logo_media_type or "",
                                                  data=store.read(row.logo_sha256))})
    return kit


def _contrast_details(raw: dict[str, Any]) -> list[dict[str, Any]]:
    from content.brand import Colors, contrast

    given = raw.get("colors")
    if not isinstance(given, dict):
        return []
    colors = {**Colors().model_dump(), **given}
    try:
        pairs = Colors.model_construct(**colors).pairs()
        return [{"pair": what, "foreground": fg, "background": bg,
                 "ratio": round(contrast(fg, bg), 2), "minimum": minimum}
                for what, fg, bg, minimum in pairs if contrast(fg, bg) < minimum]
    except (ValueError, TypeError):  # malformed colours: the message says which
        return []


def save_kit(session: Session, org_id: str, actor: Actor, raw: dict[str, Any],
             updated_by: str | None = None) -> BrandKitRecord:
    """Replace the kit's fields (not its logo: :func:`set_logo`) after validation."""
    raw = {k: v for k, v in raw.items() if k != "logo"}
    try:
        kit = parse_brand(raw)
    except BrandError as exc:
        raise BrandKitError(str(exc), _contrast_details(raw)) from None
    row = get_record(session, org_id)
    before = dict(row.kit) if row else None
    data = kit.model_dump(mode="json", exclude={"logo"})
    if row is None:
        row = BrandKitRecord(org_id=org_id, kit=data, version=1, updated_by=updated_by)
        session.add(row)
    else:
        row.kit, row.version, row.updated_by = data, row.version + 1, updated_by
    session.flush()
    record(session, org_id=org_id, actor=actor, action="brand_kit.updated",
           resource_type="brand_kit", resource_id=row.id, before=before, after=data)
    return row


def set_logo(session: Session, org_id: str, actor: Actor, data: bytes, store: ArtifactStore,
             updated_by: str | None = None) -> BrandKitRecord:
    """Sniff (by content), sanitise (SVG) and store a logo for the organization's kit."""
    try:
        media_type, clean = sniff_logo(data)
    except BrandError as exc:
        raise BrandKitError(str(exc)) from None
    sha = store.put(clean)
    row = get_record(session, org_id)
    if row is None:
        row = BrandKitRecord(org_id=org_id, kit=BrandKit().model_dump(mode="json", exclude={"logo"}),
                             version=0)
        session.add(row)
    before = {"logo_sha256": row.logo_sha256}
    row.logo_sha256, row.logo_media_type = sha, media_type
    row.version, row.updated_by = row.version + 1, updated_by
    session.flush()
    record(session, org_id=org_id, actor=actor, action="brand_kit.logo_set",
           resource_type="brand_kit", resource_id=row.id, before=before,
           after={"logo_sha256": sha, "media_type": media_type, "size": len(clean)})
    return row
