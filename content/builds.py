"""Builds of a magnet as durable jobs: request (in the caller's transaction), run (worker).

``request_build`` validates the magnet's document, template and formats *now* (bad input is
a 422 to the caller, not a failed job later), snapshots the document into the job, and
queues it with a ``builds`` row and an audit entry; the caller commits all three. The
worker's ``run_build_job`` renders with content.build, puts every file in the artifact
store (content/artifacts.py) and, in one transaction, replaces the build's artifact rows
and marks the job succeeded: a job run twice (its first worker died) leaves one set.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from content.artifacts import ArtifactStore
from content.brand import BrandKit
from content.document import Design, Document, DocumentError, migrate
from jobs import queue
from jobs.worker import JobContext
from kernel.errors import DomainError, NotFoundError
from kernel.metadata.audit import Actor, record
from kernel.metadata.models import Artifact, Build, LeadMagnet
from kernel.settings import Settings


class BuildRequestError(DomainError):
    """The magnet cannot be built as asked (document, template or formats); a 422."""


def current_document(magnet: LeadMagnet) -> Document:
    """The magnet's document, upgraded from older schema versions; 422 when it is invalid."""
    try:
        return migrate(magnet.content or {}, magnet.type)
    except DocumentError as exc:
        raise BuildRequestError(f"the magnet's document is not valid: {exc}; fix it with "
                                f"PUT /v1/magnets/{magnet.id}/document") from None


def request_build(session: Session, magnet: LeadMagnet, actor: Actor, settings: Settings, *,
                  formats: list[str] | None = None, template: str | None = None,
                  created_by: str | None = None) -> Build:
    """Queue a build of ``magnet``'s current document (the caller commits)."""
    from content.build import FORMATS
    from content.library import TemplateError, resolve

    document = current_document(magnet)
    try:
        design = Design.model_validate({**(magnet.design or {}),
                                        **({"template": template} if template else {})})
    except ValueError as exc:
        raise BuildRequestError(f"the magnet's design is not valid: {exc}") from None
    try:
        info = resolve(document.type, document.industry, design.template)
    except TemplateError as exc:
        raise BuildRequestError(str(exc)) from None
    allowed = FORMATS[document.type]
    wanted = list(dict.fromkeys(formats)) if formats else list(allowed)
    unknown = [f for f in wanted if f not in allowed]
    if unknown:
        raise BuildRequestError(
            f"a {document.type.value} is built as {', '.join(allowed)}, not {', '.join(unknown)}",
            [{"field": "formats", "allowed": list(allowed), "unknown": unknown}])
    job = queue.enqueue(session, magnet.org_id, "build", {}, magnet_id=magnet.id,
                        created_by=created_by, max_attempts=settings.jobs_max_attempts)
    build = Build(org_id=magnet.org_id, magnet_id=magnet.id, job_id=job.id,
                  document_version=magnet.content_version, template=info.name, formats=wanted,
                  warnings=[], created_by=created_by)
    session.add(build)
    session.flush()
    job.params = {"build_id": build.id, "document": document.model_dump(mode="json"),
                  "design": design.model_dump(mode="json"), "formats": wanted}
    record(session, org_id=magnet.org_id, actor=actor, action="magnet.build_requested",
           resource_type="magnet", resource_id=magnet.id,
           after={"build_id": build.id, "job_id": job.id, "formats": wanted,
                  "template": info.name, "document_version": magnet.content_version})
    return build


def _brand(session: Session, org_id: str, store: ArtifactStore) -> BrandKit | None:
    from content.brand_kits import load_kit

    return load_kit(session, org_id, store)


def run_build_job(ctx: JobContext) -> None:
    """The ``build`` job: render, store the files, record them (see the module docstring)."""
    from content.build import build

    params: dict[str, Any] = ctx.params
    store = ArtifactStore.from_settings(ctx.settings)
    ctx.progress(0.05, "loading the document and brand kit")
    with ctx.sessions() as session:
        brand = _brand(session, ctx.job.org_id, store)
    document = Document.model_validate(params["document"])
    design = Design.model_validate(params["design"])
    ctx.progress(0.1, f"rendering {', '.join(params['formats'])}")
    result = build(document, design, brand, params["formats"])
    ctx.progress(0.85, "storing the files")
    for artifact in result.artifacts:
        store.put(artifact.data)
    build_id = params["build_id"]

    def write(session: Session) -> dict[str, Any]:
        row = session.scalars(sa.select(Build).where(Build.id == build_id,
                                                     Build.org_id == ctx.job.org_id)).first()
        if row is None:
            raise NotFoundError("build", build_id)
        session.execute(sa.delete(Artifact).where(Artifact.build_id == build_id))
        row.template, row.warnings = result.template, list(result.warnings)
        for a in result.artifacts:
            session.add(Artifact(org_id=row.org_id, magnet_id=row.magnet_id, build_id=row.id,
                                 name=a.name, media_type=a.media_type, size_bytes=a.size,
                                 sha256=a.sha256))
        session.flush()
        record(session, org_id=row.org_id, actor=Actor.system("jobs"), action="magnet.built",
               resource_type="magnet", resource_id=row.magnet_id,
               after={"build_id": row.id, "artifacts": [a.name for a in result.artifacts]})
        return {"build_id": row.id, "artifacts": len(result.artifacts),
                "bytes": sum(a.size for a in result.artifacts), "warnings": result.warnings}

    ctx.complete(write)
