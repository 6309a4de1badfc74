"""A magnet's document: read it (upgraded to the current schema) and save a new version.

Saving is optimistic: the caller says which version it edited (``If-Match``); a stale one is
a 409 naming the current version, so two editors never overwrite each other silently. Every
saved version is kept in ``magnet_documents``; the magnet's ``content`` is the newest and
``content_version`` its number. Audited in the caller's session; the caller commits.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from content.document import Document, DocumentError, migrate, parse_document
from kernel.errors import ConflictError, DomainError
from kernel.metadata.audit import Actor, record
from kernel.metadata.enums import MagnetStatus
from kernel.metadata.models import LeadMagnet, MagnetDocument


class DocumentInvalidError(DomainError):
    """A document that fails the document model; ``details`` carry each error's path."""


def read(magnet: LeadMagnet) -> Document:
    """The magnet's document in the current schema (older versions upgraded on the way)."""
    try:
        return migrate(magnet.content or {}, magnet.type)
    except DocumentError as exc:
        raise DocumentInvalidError(f"the stored document cannot be read: {exc}",
                                   _details(exc)) from None


def _details(exc: DocumentError) -> list[dict[str, Any]]:
    cause = exc.__cause__
    if not isinstance(cause, ValidationError):
        return []
    return [{"path": ".".join(str(p) for p in e["loc"]) or "document", "message": e["msg"]}
            for e in cause.errors()[:20]]


def validate(raw: dict[str, Any], magnet: LeadMagnet) -> Document:
    """``raw`` as a Document of the magnet's type, or :class:`DocumentInvalidError`."""
    try:
        doc = parse_document(raw)
    except DocumentError as exc:
        raise DocumentInvalidError(str(exc), _details(exc)) from None
    if doc.type != magnet.type:
        raise DocumentInvalidError(
            f"this magnet is a {magnet.type.value}; the document says {doc.type.value}",
            [{"path": "type", "message": f"must be {magnet.type.value}"}])
    return doc


def save(session: Session, magnet: LeadMagnet, document: Document, actor: Actor, *,
         expected_version: int | None, source: str = "api", job_id: str | None = None,
         created_by: str | None = None) -> MagnetDocument:
    """Store ``document`` as the magnet's next version.

    Args:
        expected_version: the version the editor started from; None skips the check (a
            draft job, which always lands as the newest version).

    Raises:
        ConflictError: a stale ``expected_version``, or a magnet that is not a draft.
    """
    if magnet.status != MagnetStatus.DRAFT:
        raise ConflictError(
            f"the document of a {MagnetStatus(magnet.status).value} magnet cannot change; move "
            f"it back to draft first (POST /v1/magnets/{magnet.id}/withdraw)")
    if expected_version is not None and expected_version != magnet.content_version:
        raise ConflictError(
            f"the document changed since version {expected_version}; it is now version "
            f"{magnet.content_version}: reload it, reapply your edit and send If-Match: "
            f"\"{magnet.content_version}\"",
            [{"expected_version": expected_version, "current_version": magnet.content_version}])
    before = {"content_version": magnet.content_version}
    data = document.model_dump(mode="json")
    magnet.content = data
    magnet.content_version = magnet.content_version + 1
    row = MagnetDocument(org_id=magnet.org_id, magnet_id=magnet.id, version=magnet.content_version,
                         document=data, source=source, job_id=job_id, created_by=created_by)
    session.add(row)
    session.flush()
    record(session, org_id=magnet.org_id, actor=actor, action="magnet.document_saved",
           resource_type="magnet", resource_id=magnet.id, before=before,
           after={"content_version": magnet.content_version, "source": source,
                  "title": document.title})
    return row
