"""Builds of a magnet (durable jobs, content/builds.py) and downloads of their artifacts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import Field, StringConstraints

from app_api.deps import Context, PermRead, PermWrite
from app_api.errors import APIError
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.routes.jobs import JobOut
from app_api.routes.magnets import get_magnet
from app_api.schemas import In, Out, Page, PathId
from content import builds
from content.artifacts import ArtifactStore
from kernel.metadata.models import Artifact, Build

router = APIRouter(tags=["builds"])


class BuildIn(In):
    formats: list[Annotated[str, StringConstraints(max_length=16)]] | None = Field(
        None, max_length=6, description="Subset of the type's formats; all by default.")
    template: Annotated[str, StringConstraints(max_length=80)] | None = Field(
        None, description="Template name (GET /v1/templates); default: the magnet's design.")


class ArtifactOut(Out):
    id: str
    name: str
    media_type: str
    size_bytes: int
    sha256: str
    download_url: str
    created_at: dt.datetime


class BuildOut(Out):
    id: str
    magnet_id: str
    job_id: str
    status: str
    document_version: int
    template: str | None
    formats: list[str]
    warnings: list[str]
    created_at: dt.datetime
    job: JobOut
    artifacts: list[ArtifactOut]


def _artifact(a: Artifact) -> dict[str, object]:
    return {"id": a.id, "name": a.name, "media_type": a.media_type, "size_bytes": a.size_bytes,
            "sha256": a.sha256, "download_url": f"/v1/artifacts/{a.id}/download",
            "created_at": a.created_at}


def build_out(b: Build) -> dict[str, object]:
    return {"id": b.id, "magnet_id": b.magnet_id, "job_id": b.job_id,
            "status": b.job.status.value, "document_version": b.document_version,
            "template": b.template, "formats": b.formats, "warnings": b.warnings,
            "created_at": b.created_at, "job": b.job,
            "artifacts": [_artifact(a) for a in b.artifacts]}


def _user(ctx: Context) -> str | None:
    return ctx.principal.actor if ctx.principal.actor_type == "user" else None


@router.post("/v1/magnets/{magnet_id}/builds", response_model=BuildOut, status_code=202)
def create_build(magnet_id: PathId, ctx: PermWrite, body: BuildIn | None = None) -> dict[str, object]:
    """Queue a build of the magnet's current document; poll the job or the build."""
    body = body or BuildIn.model_validate({})
    build = builds.request_build(ctx.db.session, get_magnet(ctx, magnet_id), ctx.actor,
                                 ctx.settings, formats=body.formats, template=body.template,
                                 created_by=_user(ctx))
    ctx.db.commit()
    return build_out(build)


@router.get("/v1/magnets/{magnet_id}/builds", response_model=Page[BuildOut])
def list_builds(magnet_id: PathId, ctx: PermRead, cursor: str | None = CursorQuery,
                limit: int = LimitQuery) -> dict[str, object]:
    """The magnet's builds, newest first, with their job status and artifacts."""
    magnet = get_magnet(ctx, magnet_id)
    stmt = ctx.db.select(Build).where(Build.magnet_id == magnet.id)
    rows, nxt = paginate(ctx.db, stmt, Build, cursor, limit)
    return {"data": [build_out(b) for b in rows], "next_cursor": nxt}


@router.get("/v1/builds/{build_id}", response_model=BuildOut)
def read_build(build_id: PathId, ctx: PermRead) -> dict[str, object]:
    """One build with its job (status, progress, error) and artifacts (sizes, hashes)."""
    return build_out(ctx.get(Build, build_id, "build"))


@router.get("/v1/artifacts/{artifact_id}/download", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_artifact(artifact_id: PathId, ctx: PermRead) -> StreamingResponse:
    """The artifact's bytes (streamed), as an attachment named like the artifact."""
    artifact = ctx.get(Artifact, artifact_id, "artifact")
    store = ArtifactStore.from_settings(ctx.settings)
    if not store.exists(artifact.sha256):
        raise APIError(410, "gone", f"the bytes of artifact {artifact.id} are no longer in the "
                       "artifact store; build the magnet again")
    name = artifact.name.replace('"', "")
    return StreamingResponse(
        store.stream(artifact.sha256), media_type=artifact.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"',
                 "Content-Length": str(artifact.size_bytes), "ETag": f'"{artifact.sha256}"',
                 "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"})
