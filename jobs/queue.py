"""The durable job queue: a ``jobs`` table in the metadata database, claimed with a lease.

Why not a queue library: huey (SQLite/Redis storage) deletes a task when a consumer takes
it, so a worker killed mid-task loses the job; procrastinate is PostgreSQL-only; dramatiq
and rq need Redis. The figures are in docs/jobs.md. A table in the metadata database gives
what the product needs on SQLite and PostgreSQL alike: a job is enqueued in the *caller's
transaction* (with its build row and audit entry, or not at all), it is visible to the API
by organization, and a job whose worker died is taken over when its lease expires.

Life of a job::

    queued --claim--> running --finish--> succeeded
       ^                 |  \\--fail (terminal, or attempts used up)--> failed
       +--lease expired--+  (worker died: claimed again, attempts + 1)
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from kernel.metadata.enums import JobStatus
from kernel.metadata.models import Job
from kernel.metadata.signals import CommitSignal
from kernel.metadata.types import utcnow

#: Fired after a commit that queued a job: wakes the in-process worker at once.
job_queued = CommitSignal("job_queued")

#: Longest error text kept on a job.
ERROR_LIMIT = 4000


def worker_name() -> str:
    """``host:pid`` of this process, recorded on the jobs it claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(session: Session, org_id: str, kind: str, params: dict[str, Any], *,
            magnet_id: str | None = None, created_by: str | None = None,
            max_attempts: int = 3) -> Job:
    """Queue a job in ``session``'s transaction (the caller commits; a rollback un-queues it)."""
    job = Job(org_id=org_id, kind=kind, params=params, magnet_id=magnet_id,
              created_by=created_by, max_attempts=max_attempts, status=JobStatus.QUEUED,
              run_after=utcnow())
    session.add(job)
    session.flush()
    job_queued.mark(session)
    return job


def _due(now: dt.datetime) -> sa.ColumnElement[bool]:
    queued = sa.and_(Job.status == JobStatus.QUEUED, Job.run_after <= now)
    orphaned = sa.and_(Job.status == JobStatus.RUNNING, Job.lease_until < now)
    return sa.or_(queued, orphaned)


def claim(sessions: sessionmaker[Session], lease: dt.timedelta, worker: str,
          kinds: tuple[str, ...] | None = None, now: dt.datetime | None = None) -> Job | None:
    """Take the oldest due job (queued, or running with an expired lease) for ``worker``.

    The claim is a conditional UPDATE, so two workers never both win one job. A job whose
    attempts are used up is failed here instead of being run again (its workers kept dying).
    """
    now = now or utcnow()
    with sessions() as session:
        stmt = sa.select(Job.id, Job.attempts, Job.max_attempts).where(_due(now))
        if kinds:
            stmt = stmt.where(Job.kind.in_(kinds))
        for job_id, attempts, max_attempts in session.execute(
                stmt.order_by(Job.run_after, Job.id).limit(8)).all():
            if attempts >= max_attempts:
                _give_up(session, job_id, now, attempts)
                continue
            res = session.execute(
                sa.update(Job).where(Job.id == job_id, _due(now), Job.attempts == attempts)
                .values(status=JobStatus.RUNNING, lease_until=now + lease, worker=worker,
                        attempts=attempts + 1, started_at=sa.func.coalesce(Job.started_at, now),
                        updated_at=now)
                .execution_options(synchronize_session=False))
            if res.rowcount == 1:  # type: ignore[attr-defined]
                session.commit()
                return session.get_one(Job, job_id, populate_existing=True)
        session.commit()
    return None


def _give_up(session: Session, job_id: str, now: dt.datetime, attempts: int) -> None:
    session.execute(
        sa.update(Job).where(Job.id == job_id, _due(now), Job.attempts == attempts)
        .values(status=JobStatus.FAILED, finished_at=now, lease_until=None, updated_at=now,
                error=f"gave up after {attempts} attempts: the worker stopped (killed or "
                      "crashed) while running it each time")
        .execution_options(synchronize_session=False))


def _owned(job_id: str, worker: str) -> sa.ColumnElement[bool]:
    return sa.and_(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.worker == worker)


def heartbeat(sessions: sessionmaker[Session], job_id: str, worker: str, lease: dt.timedelta,
              progress: float | None = None, message: str | None = None) -> bool:
    """Renew ``worker``'s lease on ``job_id`` (and record progress); False if it lost the job."""
    now = utcnow()
    values: dict[str, Any] = {"lease_until": now + lease, "updated_at": now}
    if progress is not None:
        values["progress"] = min(1.0, max(0.0, progress))
    if message is not None:
        values["message"] = message[:300]
    with sessions() as session:
        res = session.execute(sa.update(Job).where(_owned(job_id, worker)).values(**values)
                              .execution_options(synchronize_session=False))
        session.commit()
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]


def owns(session: Session, job_id: str, worker: str) -> bool:
    """True while ``worker`` still holds ``job_id`` (check it in the finishing transaction)."""
    return session.scalar(sa.select(Job.id).where(_owned(job_id, worker))) is not None


def finish(session: Session, job: Job, result: dict[str, Any]) -> None:
    """Mark ``job`` succeeded in ``session`` (the handler's own writes commit with it)."""
    now = utcnow()
    job.status, job.result, job.progress = JobStatus.SUCCEEDED, result, 1.0
    job.finished_at, job.lease_until, job.error, job.updated_at = now, None, None, now
    job.message = "done"


def fail(sessions: sessionmaker[Session], job_id: str, worker: str, error: str, *,
         retry: bool, backoff: dt.timedelta = dt.timedelta(seconds=5)) -> JobStatus | None:
    """Record a failed attempt: back to queued (after ``backoff``) if ``retry`` and attempts
    remain, else failed for good. None when ``worker`` no longer held the job."""
    now = utcnow()
    with sessions() as session:
        job = session.scalars(sa.select(Job).where(_owned(job_id, worker))).first()
        if job is None:
            return None
        job.error = error[:ERROR_LIMIT]
        job.lease_until, job.updated_at = None, now
        if retry and job.attempts < job.max_attempts:
            job.status, job.run_after = JobStatus.QUEUED, now + backoff * job.attempts
            job.message = f"attempt {job.attempts} failed; retrying"
        else:
            job.status, job.finished_at = JobStatus.FAILED, now
            job.message = "failed"
        status = job.status
        session.commit()
        return status


def backlog(session: Session, now: dt.datetime | None = None) -> dict[str, tuple[int, float]]:
    """Per kind, across organizations (for metrics): jobs waiting to run and the age in
    seconds of the oldest one (queued since ``run_after``; a retry waits its back-off first)."""
    now = now or utcnow()
    rows = session.execute(
        sa.select(Job.kind, sa.func.count(), sa.func.min(Job.run_after))
        .where(Job.status == JobStatus.QUEUED).group_by(Job.kind)).all()
    out = {}
    for kind, n, oldest in rows:
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
        out[str(kind)] = (int(n), max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    return out
