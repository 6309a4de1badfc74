"""The file a lead receives: the magnet's built artifact, or a placeholder until there is one.

``artifact_for`` is the one hook into the artifact store: the magnet's newest build
(``POST /v1/magnets/{id}/builds``) and, of its files, the one a reader wants (the PDF; for
a calculator its HTML page). Until a build has finished, :func:`deliverable` serves a short
text file that says the finished file is being prepared, and the pages say so too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from content.artifacts import ArtifactStore
from kernel.metadata.models import Artifact, LeadMagnet
from kernel.settings import Settings

#: Which of a build's files a lead receives, best first.
PREFERRED = ("application/pdf", "text/html")


@dataclass(frozen=True)
class Deliverable:
    filename: str
    media_type: str
    body: bytes
    placeholder: bool


def artifact_for(session: Session, magnet: LeadMagnet) -> Artifact | None:
    """The file of the magnet's newest finished build that a lead receives, or None."""
    newest = session.scalar(sa.select(Artifact.build_id).where(
        Artifact.org_id == magnet.org_id, Artifact.magnet_id == magnet.id)
        .order_by(Artifact.created_at.desc()).limit(1))
    if newest is None:
        return None
    files = list(session.scalars(sa.select(Artifact).where(
        Artifact.org_id == magnet.org_id, Artifact.build_id == newest)))

    def rank(a: Artifact) -> int:
        media = a.media_type.split(";")[0]
        return PREFERRED.index(media) if media in PREFERRED else len(PREFERRED)

    return min(files, key=lambda a: (rank(a), a.name)) if files else None


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "download"


def placeholder(magnet: LeadMagnet) -> Deliverable:
    title = str((magnet.content or {}).get("title") or magnet.name)
    body = (f"{title}\n{'=' * len(title)}\n\n"
            "Thank you for signing up. The finished file is still being prepared;\n"
            "you will receive it by email as soon as it is ready.\n").encode()
    return Deliverable(f"{_safe_name(magnet.slug)}.txt", "text/plain; charset=utf-8", body,
                       True)


def delivery_name(session: Session, magnet: LeadMagnet) -> tuple[str, bool]:
    """(file name, is it the placeholder) of what a download serves now, without reading the
    file: for the pages that only show the name."""
    found = artifact_for(session, magnet)
    if found is None:
        return placeholder(magnet).filename, True
    return _safe_name(found.name), False


def deliverable(session: Session, magnet: LeadMagnet, settings: Settings) -> Deliverable:
    """What a download of ``magnet`` serves now, its bytes read from the artifact store."""
    found = artifact_for(session, magnet)
    if found is None:
        return placeholder(magnet)
    body = ArtifactStore.from_settings(settings).read(found.sha256)
    return Deliverable(_safe_name(found.name), found.media_type, body, False)


def has_artifact(session: Session, magnet: LeadMagnet) -> bool:
    return artifact_for(session, magnet) is not None
