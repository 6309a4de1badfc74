"""The file a lead receives: the magnet's built artifact, or a placeholder until there is one.

``artifact_for`` is the one hook into the artifact store (the content library builds the
files): today it finds none, and :func:`deliverable` serves a short text file that says
the finished file is being prepared. Point ``artifact_for`` at the store and every page,
mail and download link starts delivering the real file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from kernel.metadata.models import LeadMagnet


@dataclass(frozen=True)
class Deliverable:
    filename: str
    media_type: str
    body: bytes
    placeholder: bool


def artifact_for(session: Session, magnet: LeadMagnet) -> tuple[str, str, bytes] | None:
    """(filename, media type, bytes) of the magnet's latest built artifact, or None.

    Integration point: the artifact store is not part of this package yet.
    """
    del session, magnet
    return None


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "download"


def placeholder(magnet: LeadMagnet) -> Deliverable:
    title = str((magnet.content or {}).get("title") or magnet.name)
    body = (f"{title}\n{'=' * len(title)}\n\n"
            "Thank you for signing up. The finished file is still being prepared;\n"
            "you will receive it by email as soon as it is ready.\n").encode()
    return Deliverable(f"{_safe_name(magnet.slug)}.txt", "text/plain; charset=utf-8", body,
                       True)


def deliverable(session: Session, magnet: LeadMagnet) -> Deliverable:
    """What a download of ``magnet`` serves now."""
    found = artifact_for(session, magnet)
    if found is None:
        return placeholder(magnet)
    filename, media_type, body = found
    return Deliverable(_safe_name(filename), media_type, body, False)


def has_artifact(session: Session, magnet: LeadMagnet) -> bool:
    return artifact_for(session, magnet) is not None
