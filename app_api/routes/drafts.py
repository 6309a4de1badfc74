"""AI drafts of a magnet as durable jobs (content/drafts.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from app_api.deps import PermWrite
from app_api.routes.jobs import JobOut
from app_api.routes.magnets import get_magnet
from app_api.schemas import In, PathId
from content import drafts
from kernel.metadata.models import Job

router = APIRouter(prefix="/v1/magnets", tags=["drafts"])


class DraftIn(In):
    # Lengths are the brief's (content.document.Brief) so its messages reach the caller.
    topic: Annotated[str, Field(max_length=20_000)]
    industry: Annotated[str, Field(max_length=40)] = "saas"
    audience: Annotated[str, Field(max_length=1000)] = ""


@router.post("/{magnet_id}/drafts", response_model=JobOut, status_code=202)
def create_draft(magnet_id: PathId, body: DraftIn, ctx: PermWrite) -> Job:
    """Queue an AI draft (offline generator without an endpoint); it lands as a new
    document version. Poll GET /v1/jobs/{id}."""
    creator = ctx.principal.actor if ctx.principal.actor_type == "user" else None
    job = drafts.request_draft(ctx.db.session, get_magnet(ctx, magnet_id), ctx.actor,
                               ctx.settings, topic=body.topic, industry=body.industry,
                               audience=body.audience, created_by=creator)
    ctx.db.commit()
    return job
