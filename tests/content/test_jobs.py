"""The durable job queue: claims, leases, retries, and a worker killed mid-build (real
processes: ``lodestone worker`` is SIGKILLed while it renders, a second one finishes)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from content import builds
from content.artifacts import ArtifactStore
from content.document import make_brief
from content.offline import generate
from jobs import queue
from jobs.worker import JobContext, Worker
from kernel.metadata import LeadMagnet, Organization, make_engine, make_session_factory, migrate
from kernel.metadata.audit import Actor
from kernel.metadata.enums import JobStatus, MagnetType
from kernel.metadata.models import Artifact, Build, Job
from kernel.metadata.types import utcnow
from kernel.settings import Settings
from tests.helpers import ROOT, child_env, make_settings

LEASE = dt.timedelta(seconds=30)
EDITOR = Actor("usr_test", "user")  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    settings = make_settings(tmp_path / "data", jobs_lease_s=2.0, jobs_poll_s=0.1)
    engine = make_engine(settings.resolved_metadata_url)
    migrate(engine)
    try:
        yield settings, make_session_factory(engine)
    finally:
        engine.dispose()


def _org_with_magnet(sessions: sessionmaker[Session], chapters: int = 2) -> tuple[str, str]:
    doc = generate(make_brief("ebook", "cutting churn in the first 90 days", "saas"), chapters)
    with sessions.begin() as s:
        org = Organization(name="Acme", slug=f"acme-{os.urandom(4).hex()}")
        s.add(org)
        s.flush()
        magnet = LeadMagnet(org_id=org.id, name="Churn", slug="churn", type=MagnetType.EBOOK,
                            content=doc.model_dump(mode="json"))
        s.add(magnet)
        s.flush()
        return org.id, magnet.id


def _request(sessions: sessionmaker[Session], settings: Settings, magnet_id: str,
             formats: list[str] | None = None) -> tuple[str, str]:
    with sessions() as s:
        build = builds.request_build(s, s.get_one(LeadMagnet, magnet_id), EDITOR, settings,
                                     formats=formats)
        s.commit()
        return build.id, build.job_id


def test_claim_is_exclusive_and_an_expired_lease_is_taken_over(
        db: tuple[Settings, sessionmaker[Session]]) -> None:
    _, sessions = db
    org_id, magnet_id = _org_with_magnet(sessions)
    with sessions() as s:
        job = queue.enqueue(s, org_id, "build", {}, magnet_id=magnet_id)
        s.commit()
    first = queue.claim(sessions, LEASE, "w1")
    assert first is not None and first.id == job.id and first.attempts == 1
    assert queue.claim(sessions, LEASE, "w2") is None  # held by w1
    later = utcnow() + LEASE + dt.timedelta(seconds=1)
    second = queue.claim(sessions, LEASE, "w2", now=later)  # w1 died: its lease ran out
    assert second is not None and (second.worker, second.attempts) == ("w2", 2)
    assert not queue.heartbeat(sessions, job.id, "w1", LEASE)  # w1 lost it
    assert queue.heartbeat(sessions, job.id, "w2", LEASE, 0.5, "halfway")
    with sessions() as s:
        row = s.get_one(Job, job.id)
        assert (row.status, row.progress, row.message) == (JobStatus.RUNNING, 0.5, "halfway")


def test_a_job_whose_workers_keep_dying_fails_with_the_reason(
        db: tuple[Settings, sessionmaker[Session]]) -> None:
    _, sessions = db
    org_id, _ = _org_with_magnet(sessions)
    with sessions() as s:
        job = queue.enqueue(s, org_id, "build", {}, max_attempts=2)
        s.commit()
    now = utcnow()
    for i in range(2):
        assert queue.claim(sessions, LEASE, f"w{i}", now=now) is not None
        now += LEASE + dt.timedelta(seconds=1)
    assert queue.claim(sessions, LEASE, "w3", now=now) is None
    with sessions() as s:
        row = s.get_one(Job, job.id)
        assert row.status == JobStatus.FAILED and "gave up after 2 attempts" in (row.error or "")


def test_retryable_errors_are_retried_and_bad_input_fails_at_once(
        db: tuple[Settings, sessionmaker[Session]]) -> None:
    _, sessions = db
    org_id, _ = _org_with_magnet(sessions)
    with sessions() as s:
        job = queue.enqueue(s, org_id, "build", {})
        s.commit()
    assert queue.claim(sessions, LEASE, "w") is not None
    assert queue.fail(sessions, job.id, "w", "endpoint busy", retry=True) == JobStatus.QUEUED
    assert queue.fail(sessions, job.id, "other", "x", retry=False) is None  # not its job
    with sessions() as s:
        row = s.get_one(Job, job.id)
        assert row.status == JobStatus.QUEUED and row.run_after > utcnow()
    row.run_after = utcnow()
    with sessions() as s:
        s.execute(sa.update(Job).where(Job.id == job.id).values(run_after=utcnow()))
        s.commit()
    assert queue.claim(sessions, LEASE, "w") is not None
    assert queue.fail(sessions, job.id, "w", "bad template", retry=False) == JobStatus.FAILED


def test_a_build_job_stores_its_artifacts_once_even_when_run_twice(
        db: tuple[Settings, sessionmaker[Session]]) -> None:
    settings, sessions = db
    _, magnet_id = _org_with_magnet(sessions, chapters=1)
    build_id, job_id = _request(sessions, settings, magnet_id, ["html"])
    worker = Worker(sessions, settings, name="w1")
    assert worker.run_once() is not None
    with sessions() as s:
        job = s.get_one(Job, job_id)
        assert job.status == JobStatus.SUCCEEDED and job.progress == 1.0, job.error
        job_copy = s.get_one(Job, job_id)
        job_copy.status, job_copy.worker = JobStatus.RUNNING, "w1"  # as if run again by w1
        s.commit()
    builds.run_build_job(JobContext(job_copy, sessions, settings, "w1", LEASE))
    store = ArtifactStore.from_settings(settings)
    with sessions() as s:
        rows = s.scalars(sa.select(Artifact).where(Artifact.build_id == build_id)).all()
        assert [a.name for a in rows] == ["cutting-churn-in-the-first-90-days.html"] or \
            [a.name.endswith(".html") for a in rows] == [True]
        html = store.read(rows[0].sha256)
        assert b"<html" in html.lower() and len(html) == rows[0].size_bytes
        assert s.get_one(Build, build_id).template == "saas-ebook"


def _worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "lodestone.cli", "worker"], cwd=ROOT, start_new_session=True,
        env=child_env(settings), stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _wait(sessions: sessionmaker[Session], job_id: str, until: set[JobStatus],
          timeout: float) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as s:
            job = s.get_one(Job, job_id)
            if job.status in until:
                return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} not in {until} after {timeout}s")


@pytest.mark.slow  # real processes (worker/server start-up, WeasyPrint)
def test_a_build_survives_its_worker_being_killed(
        db: tuple[Settings, sessionmaker[Session]], tmp_path: Path) -> None:
    settings, sessions = db
    _, magnet_id = _org_with_magnet(sessions, chapters=10)  # a long PDF: time to kill it
    build_id, job_id = _request(sessions, settings, magnet_id, ["pdf", "html"])
    log = tmp_path / "worker.log"
    first = _worker(settings, log)
    try:
        running = _wait(sessions, job_id, {JobStatus.RUNNING, JobStatus.SUCCEEDED}, 60)
        assert running.status == JobStatus.RUNNING, "the build finished before the kill"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    with sessions() as s:
        killed = s.get_one(Job, job_id)
        assert killed.status == JobStatus.RUNNING and killed.attempts == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(Artifact)) == 0
    second = _worker(settings, log)
    try:
        done = _wait(sessions, job_id, {JobStatus.SUCCEEDED, JobStatus.FAILED}, 90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert done.status == JobStatus.SUCCEEDED, (done.error, log.read_text()[-2000:])
    assert done.attempts == 2 and done.worker != running.worker
    store = ArtifactStore.from_settings(settings)
    with sessions() as s:
        rows = s.scalars(sa.select(Artifact).where(Artifact.build_id == build_id)
                         .order_by(Artifact.name)).all()
        assert [r.media_type.split(";")[0] for r in rows] == ["text/html", "application/pdf"]
        pdf = store.read(rows[1].sha256)
        assert pdf.startswith(b"%PDF") and len(pdf) == rows[1].size_bytes
    assert second.returncode == 0


@pytest.mark.slow  # real processes (worker/server start-up, WeasyPrint)
def test_lodestone_serve_runs_jobs_in_its_own_threads(tmp_path: Path) -> None:
    import httpx

    from kernel.metadata import ApiKey, generate_api_key
    from kernel.permissions import ALL_PERMISSIONS
    from tests.helpers import running_server

    settings = make_settings(tmp_path / "data", jobs_poll_s=0.2)
    engine = make_engine(settings.resolved_metadata_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    _, magnet_id = _org_with_magnet(sessions, chapters=1)
    key = generate_api_key()
    with sessions.begin() as s:
        org_id = s.get_one(LeadMagnet, magnet_id).org_id
        s.add(ApiKey(org_id=org_id, name="t", prefix=key.prefix, secret_hash=key.secret_hash,
                     scopes=list(ALL_PERMISSIONS)))
    engine.dispose()
    auth = {"Authorization": f"Bearer {key.token}"}
    with running_server(settings) as (base, _proc), httpx.Client(base_url=base) as http:
        r = http.post(f"/v1/magnets/{magnet_id}/builds", json={"formats": ["html"]}, headers=auth)
        assert r.status_code == 202, r.text
        build_id = r.json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            build = http.get(f"/v1/builds/{build_id}", headers=auth).json()
            if build["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.2)
        assert build["status"] == "succeeded", build["job"]
        got = http.get(build["artifacts"][0]["download_url"], headers=auth)
        assert got.status_code == 200 and b"<html" in got.content.lower()


def test_racing_workers_claim_each_job_once(db: tuple[Settings, sessionmaker[Session]]) -> None:
    import threading

    _, sessions = db
    org_id, _ = _org_with_magnet(sessions)
    with sessions() as s:
        ids = {queue.enqueue(s, org_id, "build", {"i": i}).id for i in range(24)}
        s.commit()
    claims: list[tuple[str, str]] = []
    lock = threading.Lock()

    def race(name: str) -> None:
        while (job := queue.claim(sessions, LEASE, name)) is not None:
            with lock:
                claims.append((job.id, name))

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(j for j, _ in claims) == sorted(ids)  # every job once, none twice
