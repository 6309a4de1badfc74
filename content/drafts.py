"""AI drafts as durable jobs: a brief in, a new document version out.

``request_draft`` validates the brief now (an empty or 10,000-character topic, an unknown
industry: a 422 to the caller) and queues a ``draft`` job in the caller's transaction. The
worker's ``run_draft_job`` runs the AI pipeline (content.ai: research -> generate ->
optimize -> visualize -> personalize with the brand voice) against the configured endpoint,
or the deterministic offline generator when none is configured, and saves the result as the
magnet's next document version (source ``ai`` or ``offline``) in the job's finishing
transaction. Budget and endpoint errors fail the job with the library's message; an
endpoint that kept answering 429/5xx is retried later.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from content import documents
from content.document import Brief, DocumentError, make_brief
from jobs import queue
from jobs.worker import JobContext
from kernel.errors import ConflictError, DomainError, NotFoundError
from kernel.metadata.audit import Actor, record
from kernel.metadata.enums import MagnetStatus
from kernel.metadata.models import Job, LeadMagnet
from kernel.settings import Settings


class DraftRequestError(DomainError):
    """A brief the pipeline cannot use (topic, industry, audience); a 422."""


def request_draft(session: Session, magnet: LeadMagnet, actor: Actor, settings: Settings, *,
                  topic: str, industry: str = "saas", audience: str = "",
                  created_by: str | None = None) -> Job:
    """Queue an AI draft of ``magnet`` (the caller commits)."""
    if magnet.status != MagnetStatus.DRAFT:
        raise ConflictError(
            f"a {MagnetStatus(magnet.status).value} magnet cannot get a new draft; move it back "
            f"to draft first (POST /v1/magnets/{magnet.id}/withdraw)")
    try:
        brief = make_brief(magnet.type, topic, industry, audience)
    except DocumentError as exc:
        raise DraftRequestError(str(exc)) from None
    job = queue.enqueue(session, magnet.org_id, "draft", {"brief": brief.model_dump(mode="json")},
                        magnet_id=magnet.id, created_by=created_by,
                        max_attempts=settings.jobs_max_attempts)
    record(session, org_id=magnet.org_id, actor=actor, action="magnet.draft_requested",
           resource_type="magnet", resource_id=magnet.id,
           after={"job_id": job.id, "topic": brief.topic, "industry": brief.industry.value,
                  "offline": not settings.openai_base_url})
    return job


def run_draft_job(ctx: JobContext) -> None:
    """The ``draft`` job (see the module docstring)."""
    from content.ai import CallContext, run
    from content.brand_kits import get_record

    brief = Brief.model_validate(ctx.params["brief"])
    job = ctx.job
    with ctx.sessions() as session:
        row = get_record(session, job.org_id)
        voice = (row.kit or {}).get("voice") if row is not None else None
    call = CallContext(org_id=job.org_id, sessions=ctx.sessions, settings=ctx.settings,
                       magnet_id=job.magnet_id, created_by=job.created_by)
    ctx.progress(0.1, "writing offline (no AI endpoint configured)" if call.offline
                 else "asking the AI endpoint")
    result = run(brief, call, voice=voice)
    ctx.progress(0.9, "saving the draft")

    def write(session: Session) -> dict[str, Any]:
        magnet = session.scalars(sa.select(LeadMagnet).where(
            LeadMagnet.id == job.magnet_id, LeadMagnet.org_id == job.org_id)).first()
        if magnet is None:
            raise NotFoundError("magnet", str(job.magnet_id))
        saved = documents.save(session, magnet, result.document, Actor.system("ai-drafts"),
                               expected_version=None,
                               source="offline" if result.offline else "ai", job_id=job.id,
                               created_by=job.created_by)
        return {"magnet_id": magnet.id, "version": saved.version, "steps": result.steps,
                "offline": result.offline, "title": result.document.title}

    ctx.complete(write)
