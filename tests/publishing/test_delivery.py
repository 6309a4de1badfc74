"""publishing.delivery: a lead receives the newest build's PDF (a calculator's HTML page),
read from the artifact store; a placeholder until a build has finished."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy.orm import Session

from content.artifacts import ArtifactStore
from kernel.metadata.enums import MagnetType
from kernel.metadata.models import Artifact, Build, Job, LeadMagnet, Organization
from publishing.delivery import deliverable, delivery_name, has_artifact
from tests.helpers import make_settings


def _build(session: Session, magnet: LeadMagnet, store: ArtifactStore,
           files: dict[str, tuple[str, bytes]]) -> None:
    job = Job(org_id=magnet.org_id, kind="build", magnet_id=magnet.id)
    session.add(job)
    session.flush()
    build = Build(org_id=magnet.org_id, magnet_id=magnet.id, job_id=job.id, document_version=1)
    session.add(build)
    session.flush()
    for name, (media, body) in files.items():
        session.add(Artifact(org_id=magnet.org_id, magnet_id=magnet.id, build_id=build.id,
                             name=name, media_type=media, size_bytes=len(body),
                             sha256=store.put(body)))
    session.flush()


def test_the_newest_builds_pdf_is_delivered(domain_session: Session, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    store = ArtifactStore.from_settings(settings)
    org = Organization(name="Org", slug=f"org-{secrets.token_hex(4)}")
    domain_session.add(org)
    domain_session.flush()
    magnet = LeadMagnet(org_id=org.id, name="Guide", slug="guide", type=MagnetType.EBOOK)
    domain_session.add(magnet)
    domain_session.flush()
    waiting = deliverable(domain_session, magnet, settings)
    assert waiting.placeholder and waiting.filename == "guide.txt"
    assert delivery_name(domain_session, magnet) == ("guide.txt", True)
    assert not has_artifact(domain_session, magnet)
    _build(domain_session, magnet, store, {"guide.html": ("text/html", b"<p>old</p>"),
                                           "guide.pdf": ("application/pdf", b"%PDF-old")})
    _build(domain_session, magnet, store, {"guide.md": ("text/markdown", b"# new"),
                                           "guide.html": ("text/html", b"<p>new</p>"),
                                           "guide.pdf": ("application/pdf", b"%PDF-new")})
    got = deliverable(domain_session, magnet, settings)
    assert (got.filename, got.media_type, got.body, got.placeholder) == (
        "guide.pdf", "application/pdf", b"%PDF-new", False)
    assert has_artifact(domain_session, magnet)
    assert delivery_name(domain_session, magnet) == ("guide.pdf", False)  # no bytes read
