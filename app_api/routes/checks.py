"""Quality checks of a magnet (content/gate.py) and the knowledge base the fact check reads."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from app_api.deps import PermRead, PermWrite
from app_api.errors import APIError, not_found
from app_api.routes.magnets import get_magnet
from app_api.schemas import Out, PathId
from content import gate
from content.quality import add_document, blocked_reason, delete_document, list_documents
from content.quality.knowledge import KnowledgeError

router = APIRouter(tags=["quality"])
KNOWLEDGE_PATH = "/v1/knowledge"


class CheckOut(Out):
    name: str
    passed: bool
    value: float | None
    threshold: float | None
    message: str
    details: list[dict[str, Any]]


class ChecksOut(Out):
    magnet_id: str
    document_version: int
    passed: bool
    blocked_reason: str | None
    checks: list[CheckOut]


@router.get("/v1/magnets/{magnet_id}/checks", response_model=ChecksOut)
def magnet_checks(magnet_id: PathId, ctx: PermRead) -> dict[str, Any]:
    """Every quality check on the magnet's document, each number beside its threshold;
    submit and publish are blocked while one fails."""
    magnet = get_magnet(ctx, magnet_id)
    results = gate.checks(ctx.db.session, magnet, ctx.settings)
    return {"magnet_id": magnet.id, "document_version": magnet.content_version,
            "passed": all(r.passed for r in results), "blocked_reason": blocked_reason(results),
            "checks": [r.to_dict() for r in results]}


class KnowledgeOut(Out):
    id: str
    title: str
    filename: str
    media_type: str
    sha256: str
    size_bytes: int
    chars: int
    passage_count: int
    created_at: dt.datetime


@router.post(KNOWLEDGE_PATH, response_model=KnowledgeOut, status_code=201)
def upload_knowledge(
    ctx: PermWrite,
    body: Annotated[bytes, Body(media_type="application/octet-stream",
                                description="A PDF, HTML or Markdown reference document")],
    filename: Annotated[str, Query(max_length=300)] = "",
    title: Annotated[str | None, Query(max_length=300)] = None,
) -> Any:
    """Add a reference document (PDF, HTML, Markdown) for the fact check; the same bytes
    twice return the first upload."""
    try:
        doc = add_document(ctx.db.session, ctx.org_id, body, filename=filename, title=title,
                           created_by=ctx.principal.actor if ctx.principal.actor_type == "user"
                           else None, settings=ctx.settings, actor=ctx.actor)
    except KnowledgeError as exc:
        raise APIError(422, "invalid", str(exc)) from None
    ctx.db.commit()
    return doc


@router.get(KNOWLEDGE_PATH, response_model=list[KnowledgeOut])
def list_knowledge(ctx: PermRead) -> Any:
    """Your knowledge base, newest first."""
    return list_documents(ctx.db.session, ctx.org_id)


@router.delete(KNOWLEDGE_PATH + "/{knowledge_id}", status_code=204)
def delete_knowledge(knowledge_id: PathId, ctx: PermWrite) -> Response:
    """Remove a reference document and its passages."""
    if not delete_document(ctx.db.session, ctx.org_id, knowledge_id, actor=ctx.actor):
        raise not_found("knowledge document", knowledge_id)
    ctx.db.commit()
    return Response(status_code=204)
