"""Durable jobs (builds, AI drafts): their status, progress and error, by organization."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter

from app_api.deps import PermRead
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import Out, Page, PathId
from kernel.metadata.enums import JobStatus
from kernel.metadata.models import Job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


class JobOut(Out):
    id: str
    kind: str
    magnet_id: str | None
    status: JobStatus
    progress: float
    message: str
    error: str | None
    result: dict[str, Any] | None
    attempts: int
    max_attempts: int
    created_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    updated_at: dt.datetime


@router.get("", response_model=Page[JobOut])
def list_jobs(ctx: PermRead, status: JobStatus | None = None, cursor: str | None = CursorQuery,
              limit: int = LimitQuery) -> dict[str, object]:
    """Jobs of your organization, newest first; filter by status."""
    stmt = ctx.db.select(Job)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    rows, nxt = paginate(ctx.db, stmt, Job, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.get("/{job_id}", response_model=JobOut)
def read_job(job_id: PathId, ctx: PermRead) -> Job:
    """One job: status (queued, running, succeeded, failed), progress 0..1, error, result."""
    return ctx.get(Job, job_id, "job")
