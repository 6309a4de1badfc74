"""A magnet's typed document: read it and save a new version with an optimistic version
check (rules in content/documents.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from app_api.deps import PermRead, PermWrite
from app_api.errors import APIError
from app_api.routes.magnets import get_magnet
from app_api.schemas import In, JSONObject, Out, PathId
from content import documents
from kernel.metadata.models import LeadMagnet, MagnetDocument

router = APIRouter(prefix="/v1/magnets", tags=["documents"])


class DocumentOut(Out):
    magnet_id: str
    version: int
    document: dict[str, Any]
    updated_at: dt.datetime


class DocumentIn(In):
    document: JSONObject
    version: int | None = None


def _out(magnet: LeadMagnet, response: Response) -> dict[str, Any]:
    doc = documents.read(magnet)
    response.headers["ETag"] = f'"{magnet.content_version}"'
    return {"magnet_id": magnet.id, "version": magnet.content_version,
            "document": doc.model_dump(mode="json"), "updated_at": magnet.updated_at}


def _version(if_match: str | None, body_version: int | None) -> int:
    if if_match:
        raw = if_match.strip().removeprefix("W/").strip('"')
        if not raw.isdigit():
            raise APIError(400, "bad_request", f"If-Match must be a version such as \"3\", got "
                           f"{if_match[:40]!r}")
        return int(raw)
    if body_version is None:
        raise APIError(428, "precondition_required",
                       "say which version you edited: an If-Match header with the ETag of "
                       "GET …/document, or \"version\" in the body")
    return body_version


@router.get("/{magnet_id}/document", response_model=DocumentOut)
def read_document(magnet_id: PathId, ctx: PermRead, response: Response) -> dict[str, Any]:
    """The magnet's document (current schema) and its version (also the ETag)."""
    return _out(get_magnet(ctx, magnet_id), response)


@router.put("/{magnet_id}/document", response_model=DocumentOut)
def save_document(magnet_id: PathId, body: DocumentIn, ctx: PermWrite, response: Response,
                  if_match: Annotated[str | None, Header(max_length=64)] = None) -> dict[str, Any]:
    """Save a new version; 409 when the version you edited is no longer the current one."""
    magnet = get_magnet(ctx, magnet_id)
    expected = _version(if_match, body.version)
    doc = documents.validate(body.document, magnet)
    creator = ctx.principal.actor if ctx.principal.actor_type == "user" else None
    documents.save(ctx.db.session, magnet, doc, ctx.actor, expected_version=expected,
                   created_by=creator)
    ctx.db.commit()
    return _out(magnet, response)


class VersionOut(Out):
    version: int
    source: str
    job_id: str | None
    created_by: str | None
    created_at: dt.datetime


@router.get("/{magnet_id}/document/versions", response_model=list[VersionOut])
def list_document_versions(magnet_id: PathId, ctx: PermRead) -> list[MagnetDocument]:
    """Saved versions of the magnet's document, newest first (at most 200)."""
    magnet = get_magnet(ctx, magnet_id)
    stmt = (ctx.db.select(MagnetDocument).where(MagnetDocument.magnet_id == magnet.id)
            .order_by(MagnetDocument.version.desc()).limit(200))
    return list(ctx.db.scalars(stmt).all())
