"""Run queued jobs: in a thread of every API process (default) or as ``lodestone worker``.

A handler is ``handler(ctx: JobContext) -> None``: it does the slow work outside any
transaction, reports ``ctx.progress(...)`` and ends with ``ctx.complete(write)``, which
writes its rows *and* marks the job succeeded in one transaction, provided this worker
still holds the job's lease. While a handler runs, a heartbeat renews the lease; a worker
that dies stops renewing it, and another worker runs the job again from the start (so a
handler's ``write`` must be idempotent for its job: builds replace their artifact rows).

Errors: a :class:`kernel.errors.DomainError` (bad input) fails the job at once with its
message; an error marked ``retryable`` or an unexpected one is retried with backoff until
``LODESTONE_JOBS_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from jobs import queue
from kernel.errors import DomainError
from kernel.metadata.models import Job
from kernel.settings import Settings

log = logging.getLogger(__name__)

#: kind -> "module:function" of its handler (imported on first use: the API process does
#: not load WeasyPrint until it runs a build).
HANDLERS: dict[str, str] = {
    "build": "content.builds:run_build_job",
    "draft": "content.drafts:run_draft_job",
    "privacy_export": "privacy.requests:run_export_job",
    "privacy_erase": "privacy.requests:run_erase_job",
}


class LostLeaseError(RuntimeError):
    """Another worker took the job over (this one was too slow to renew its lease)."""


def handler_for(kind: str) -> Callable[[JobContext], None]:
    module, _, name = HANDLERS[kind].partition(":")
    fn: Callable[[JobContext], None] = getattr(importlib.import_module(module), name)
    return fn


@dataclass
class JobContext:
    """What a handler gets: the job (a detached copy), sessions, settings, progress."""

    job: Job
    sessions: sessionmaker[Session]
    settings: Settings
    worker: str
    lease: dt.timedelta
    lost: threading.Event = field(default_factory=threading.Event)

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params or {}

    def progress(self, fraction: float, message: str) -> None:
        """Record how far the job is (0..1) and what it is doing; renews the lease."""
        if not queue.heartbeat(self.sessions, self.job.id, self.worker, self.lease,
                               fraction, message):
            self.lost.set()

    def complete(self, write: Callable[[Session], dict[str, Any]]) -> dict[str, Any]:
        """Run ``write(session)`` and mark the job succeeded with its result, atomically.

        Raises:
            LostLeaseError: the job was taken over meanwhile; nothing is written.
        """
        with self.sessions() as session:
            if not queue.owns(session, self.job.id, self.worker):
                raise LostLeaseError(f"job {self.job.id} was taken over by another worker")
            result = write(session)
            job = session.get_one(Job, self.job.id)
            queue.finish(session, job, result)
            session.commit()
            return result


class Worker:
    """Claims and runs jobs; ``run_once`` is one claim, ``run`` loops until stopped."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings,
                 kinds: tuple[str, ...] | None = None, name: str | None = None) -> None:
        self.sessions, self.settings = sessions, settings
        self.kinds = kinds or tuple(HANDLERS)
        self.name = name or queue.worker_name()
        self.lease = dt.timedelta(seconds=settings.jobs_lease_s)
        self._wake = threading.Event()
        self._stop = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run_once(self) -> Job | None:
        """Claim one due job and run it to its end; the job, or None when none was due."""
        job = queue.claim(self.sessions, self.lease, self.name, self.kinds)
        if job is None:
            return None
        ctx = JobContext(job, self.sessions, self.settings, self.name, self.lease)
        beat_stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(ctx, beat_stop),
                                name=f"lodestone-job-{job.id}-lease", daemon=True)
        beat.start()
        try:
            handler_for(job.kind)(ctx)
        except LostLeaseError as exc:
            log.warning("%s", exc)
        except DomainError as exc:
            queue.fail(self.sessions, job.id, self.name, exc.message, retry=False)
        except (ValueError, LookupError) as exc:  # the library's bad-input errors
            queue.fail(self.sessions, job.id, self.name, str(exc), retry=False)
        except Exception as exc:  # the job records it; the worker keeps going
            if not hasattr(exc, "retryable"):
                log.exception("job %s (%s) failed", job.id, job.kind)
            queue.fail(self.sessions, job.id, self.name, str(exc) or type(exc).__name__,
                       retry=bool(getattr(exc, "retryable", True)))
        finally:
            beat_stop.set()
            beat.join()
        return job

    def _heartbeat(self, ctx: JobContext, stop: threading.Event) -> None:
        every = max(0.1, self.settings.jobs_lease_s / 3)
        while not stop.wait(every):
            try:
                if not queue.heartbeat(self.sessions, ctx.job.id, self.name, self.lease):
                    ctx.lost.set()
                    return
            except Exception:  # a database hiccup: try again at the next beat
                log.exception("lease renewal of job %s failed", ctx.job.id)

    def run(self) -> None:
        """Run jobs until :meth:`stop`; sleeps ``jobs_poll_s`` (or until woken) when idle."""
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if self.run_once() is not None:
                    continue
            except Exception:  # keep the loop alive; the next pass retries
                log.exception("job worker pass failed")
            self._wake.wait(self.settings.jobs_poll_s)


class BackgroundWorker:
    """``jobs_concurrency`` :class:`Worker` loops in daemon threads, woken by enqueues."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.workers = [Worker(sessions, settings, name=f"{queue.worker_name()}:{i}")
                        for i in range(settings.jobs_concurrency)]
        self._threads: list[threading.Thread] = []

    def wake(self) -> None:
        for w in self.workers:
            w.wake()

    def start(self) -> None:
        queue.job_queued.connect(self.wake)
        for i, w in enumerate(self.workers):
            t = threading.Thread(target=w.run, name=f"lodestone-jobs-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; a job still running after ``timeout`` is taken over elsewhere
        when its lease expires."""
        queue.job_queued.disconnect(self.wake)
        for w in self.workers:
            w.stop()
        for t in self._threads:
            t.join(timeout)


def run_forever(settings: Settings) -> int:
    """``lodestone worker``: run jobs until SIGTERM/SIGINT, then let the running ones end
    (up to the lease; an unfinished job is taken over by another worker)."""
    import signal

    from kernel.metadata.db import make_engine, make_session_factory

    engine = make_engine(settings.resolved_metadata_url)
    pool = BackgroundWorker(make_session_factory(engine, settings), settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    pool.start()
    log.info("job worker %s running %d at once", queue.worker_name(), settings.jobs_concurrency)
    try:
        while not stop.wait(3600):
            pass
    finally:
        pool.stop(timeout=settings.jobs_lease_s)
        engine.dispose()
    return 0
