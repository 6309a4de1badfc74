"""Data-subject requests: find, export and erase one person (API, CLI and jobs call these).

``request`` records an export or erasure (identifiers kept only while it is pending, a keyed
hash for good), queues its job and audits it, in the caller's transaction. The job runs the
steps in order; each step's result is committed as it finishes, so a worker killed mid-way
is replaced by one that skips the finished steps and completes the rest (every step is
idempotent). A finished erasure keeps what was removed per store, when and by whom, and
nothing that identifies the person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from content.artifacts import ArtifactStore
from jobs import queue
from jobs.worker import JobContext
from kernel.errors import DomainError, NotFoundError, TransitionError
from kernel.metadata.audit import Actor, record
from kernel.metadata.models import PrivacyRequest
from kernel.metadata.types import utcnow
from kernel.settings import Settings
from kernel.warehouse import Warehouse, open_warehouse
from privacy import export
from privacy.stores import files, metadata, spool, warehouse
from privacy.subject import Subject, named_by, resolve, subject_hash

KINDS = ("export", "erase")
ERASE_STEPS = ("expand", "spool", "warehouse", "metadata", "artifacts", "files")


class ExportGoneError(DomainError):
    """The archive was downloaded already, or has expired."""

    code = "gone"


def find(session: Session, wh: Any, settings: Settings, org_id: str, actor: Actor, *,
         email: str | None = None, lead_id: str | None = None,
         visitor_id: str | None = None) -> dict[str, Any]:
    """Who the identifier names and how many records of them each store holds (audited;
    the caller commits)."""
    ident = named_by(email, lead_id, visitor_id)
    subject = resolve(session, org_id, ident)
    subject = subject.with_visitors(warehouse.discover_visitors(wh, subject))
    data = export.collect(session, wh, settings, subject)
    record(session, org_id=org_id, actor=actor, action="privacy.searched",
           resource_type="privacy_request", resource_id=None,
           after={"subject_hash": subject_hash(settings.secret_key, org_id, ident)})
    return {**data["subject"], "counts": export.counts(data)}


def request(session: Session, org_id: str, actor: Actor, settings: Settings, kind: str, *,
            email: str | None = None, lead_id: str | None = None,
            visitor_id: str | None = None, created_by: str | None = None) -> PrivacyRequest:
    """Record and queue an export or erasure (the caller commits).

    Raises:
        NotFoundError: ``lead_id`` is not one of the organization's leads.
        SubjectError: not exactly one identifier, or an email that is not one.
    """
    if kind not in KINDS:
        raise DomainError(f"kind must be one of {', '.join(KINDS)}")
    ident = named_by(email, lead_id, visitor_id)
    subject = resolve(session, org_id, ident)
    req = PrivacyRequest(org_id=org_id, kind=kind, subject=subject.to_json(),
                         subject_hash=subject_hash(settings.secret_key, org_id, ident),
                         requested_by=actor.id, steps={})
    session.add(req)
    session.flush()
    job = queue.enqueue(session, org_id, f"privacy_{kind}", {"request_id": req.id},
                        created_by=created_by, max_attempts=settings.jobs_max_attempts)
    req.job_id = job.id
    record(session, org_id=org_id, actor=actor, action=f"privacy.{kind}_requested",
           resource_type="privacy_request", resource_id=req.id,
           after={"kind": kind, "subject_hash": req.subject_hash, "job_id": job.id})
    return req


def _load(sessions: sessionmaker[Session], request_id: str) -> tuple[PrivacyRequest, Subject]:
    with sessions() as s:
        req = s.get(PrivacyRequest, request_id)
        if req is None:
            raise NotFoundError("privacy request", request_id)
        s.expunge(req)
    return req, Subject.from_json(req.org_id, req.subject or {})


def _mark(session: Session, request_id: str, **values: Any) -> None:
    session.execute(sa.update(PrivacyRequest).where(PrivacyRequest.id == request_id)
                    .values(**values).execution_options(synchronize_session=False))


def run_erasure(sessions: sessionmaker[Session], settings: Settings, request_id: str,
                wh: Warehouse | None = None,
                progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
    """Run (or resume) erasure ``request_id`` to its end; returns rows removed per store."""
    req, subject = _load(sessions, request_id)
    steps: dict[str, Any] = dict(req.steps or {})
    if req.status == "done":
        return steps
    own = wh is None
    wh = wh or open_warehouse(settings)
    store = ArtifactStore.from_settings(settings)
    try:
        for i, name in enumerate(ERASE_STEPS):
            if name in steps:
                continue
            if progress:
                progress(i / len(ERASE_STEPS), f"erasing: {name}")
            with sessions() as s:
                metadata.secure_sqlite(s)
                if name == "expand":
                    subject = subject.with_visitors(warehouse.discover_visitors(wh, subject))
                    steps[name] = len(subject.visitor_ids)
                    _mark(s, request_id, subject=subject.to_json(), steps=steps)
                elif name == "spool":
                    steps[name] = spool.erase(settings.spool_dir, subject,
                                              settings.privacy_spool_wait_s)
                elif name == "warehouse":
                    steps[name] = warehouse.erase(wh, subject, settings.privacy_cleanup_wait_s)
                elif name == "metadata":  # the rows and the step mark commit together
                    steps[name] = metadata.erase(s, subject)
                elif name == "artifacts":
                    steps[name] = files.erase_artifacts(s, store, subject)
                elif name == "files":
                    steps[name] = files.erase(settings.data_path, subject)
                _mark(s, request_id, steps=steps)
                s.commit()
        with sessions() as s:
            metadata.secure_sqlite(s)
            _mark(s, request_id, status="done", subject={}, completed_at=utcnow(), steps=steps)
            record(s, org_id=req.org_id, actor=Actor.system("privacy"), action="privacy.erased",
                   resource_type="privacy_request", resource_id=request_id,
                   after={"subject_hash": req.subject_hash, "requested_by": req.requested_by,
                          "rows": steps})
            s.commit()
            engine = s.get_bind()
        metadata.scrub_sqlite(engine)  # type: ignore[arg-type]
    finally:
        if own:
            wh.close()
    return steps


def run_export(sessions: sessionmaker[Session], settings: Settings, request_id: str,
               wh: Warehouse | None = None) -> dict[str, Any]:
    """Build the archive of export ``request_id``; returns the counts per kind of record."""
    req, subject = _load(sessions, request_id)
    own = wh is None
    wh = wh or open_warehouse(settings)
    try:
        subject = subject.with_visitors(warehouse.discover_visitors(wh, subject))
        with sessions() as s:
            data = export.collect(s, wh, settings, subject)
    finally:
        if own:
            wh.close()
    size = export.write_archive(settings, request_id, data)
    with sessions() as s:
        _mark(s, request_id, status="done", subject={}, completed_at=utcnow(),
              archive_bytes=size, steps=export.counts(data),
              expires_at=utcnow() + dt.timedelta(hours=settings.privacy_export_ttl_hours))
        record(s, org_id=req.org_id, actor=Actor.system("privacy"), action="privacy.exported",
               resource_type="privacy_request", resource_id=request_id,
               after={"subject_hash": req.subject_hash, "bytes": size})
        s.commit()
    return export.counts(data)


def download(session: Session, org_id: str, actor: Actor, settings: Settings,
             request_id: str) -> bytes:
    """The export archive, once: the request is marked downloaded and the file deleted
    (the caller commits). 404 for another organization's request, 409 before it is ready,
    410 after the one download or past its expiry."""
    req = session.scalars(sa.select(PrivacyRequest).where(
        PrivacyRequest.org_id == org_id, PrivacyRequest.id == request_id,
        PrivacyRequest.kind == "export")).first()
    if req is None:
        raise NotFoundError("export", request_id)
    if req.status != "done":
        raise TransitionError(f"the export is {req.status}; download it once it is done")
    path = export.archive_path(settings, request_id)
    if req.downloaded_at is not None:
        raise ExportGoneError("this export was downloaded already; request a new one")
    if req.expires_at is None or req.expires_at < utcnow() or not path.exists():
        path.unlink(missing_ok=True)
        raise ExportGoneError("this export has expired; request a new one")
    res = session.execute(sa.update(PrivacyRequest).where(
        PrivacyRequest.org_id == org_id, PrivacyRequest.id == request_id,
        PrivacyRequest.downloaded_at.is_(None)).values(downloaded_at=utcnow())
        .execution_options(synchronize_session=False))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise ExportGoneError("this export was downloaded already; request a new one")
    data = path.read_bytes()
    record(session, org_id=org_id, actor=actor, action="privacy.export_downloaded",
           resource_type="privacy_request", resource_id=request_id,
           after={"bytes": len(data)})
    path.unlink(missing_ok=True)
    return data


# -- jobs ----------------------------------------------------------------------------------------
def run_erase_job(ctx: JobContext) -> None:
    """The ``privacy_erase`` job (resumes where a killed worker stopped)."""
    steps = run_erasure(ctx.sessions, ctx.settings, ctx.params["request_id"],
                        progress=ctx.progress)
    ctx.complete(lambda _s: {"request_id": ctx.params["request_id"], "rows": steps})


def run_export_job(ctx: JobContext) -> None:
    """The ``privacy_export`` job."""
    counts = run_export(ctx.sessions, ctx.settings, ctx.params["request_id"])
    ctx.complete(lambda _s: {"request_id": ctx.params["request_id"], "counts": counts})
