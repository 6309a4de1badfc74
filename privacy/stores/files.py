"""Files: mail written to the development folder (``.eml``), export archives, and built
artifacts whose bytes name the person (a personalised file).

A file is the person's when the byte scan's decoders (privacy/scan.py) find them in it;
it is deleted. An artifact's rows are deleted and its bytes too once no row names them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from content.artifacts import ArtifactMissingError, ArtifactStore
from kernel.metadata.models import Artifact
from privacy.scan import content_hits, variants
from privacy.subject import Subject

PATTERNS = ("mail/*.eml", "privacy/exports/*.zip")


def _files(data_dir: Path, subject: Subject) -> list[Path]:
    forms = variants(subject.needles)
    if not forms:
        return []
    out = []
    for pattern in PATTERNS:
        for path in sorted(data_dir.glob(pattern)):
            try:
                if content_hits(path.read_bytes(), forms):
                    out.append(path)
            except FileNotFoundError:
                continue
    return out


def find(data_dir: Path, subject: Subject) -> list[dict[str, Any]]:
    """Mail files and archives naming the person: ``{"path", "bytes"}`` (the export copies
    the mail files themselves)."""
    return [{"path": str(p.relative_to(data_dir)), "bytes": p.stat().st_size}
            for p in _files(data_dir, subject)]


def erase(data_dir: Path, subject: Subject) -> int:
    n = 0
    for path in _files(data_dir, subject):
        path.unlink(missing_ok=True)
        n += 1
    return n


def _artifact_hits(session: Session, store: ArtifactStore, subject: Subject) -> list[str]:
    forms = variants(subject.needles)
    if not forms:
        return []
    shas = session.scalars(sa.select(Artifact.sha256).where(
        Artifact.org_id == subject.org_id).distinct()).all()
    hits = []
    for sha in shas:
        try:
            if content_hits(store.read(sha), forms):
                hits.append(sha)
        except ArtifactMissingError:
            continue
    return hits


def find_artifacts(session: Session, store: ArtifactStore, subject: Subject) -> list[dict[str, Any]]:
    shas = _artifact_hits(session, store, subject)
    rows = session.scalars(sa.select(Artifact).where(Artifact.org_id == subject.org_id,
                                                     Artifact.sha256.in_(shas))).all()
    return [{"id": a.id, "name": a.name, "media_type": a.media_type, "build_id": a.build_id,
             "sha256": a.sha256} for a in rows]


def erase_artifacts(session: Session, store: ArtifactStore, subject: Subject) -> int:
    """Delete the artifacts personalised for the person (rows, then unreferenced bytes);
    the caller commits."""
    shas = _artifact_hits(session, store, subject)
    if not shas:
        return 0
    res = session.execute(sa.delete(Artifact).where(Artifact.org_id == subject.org_id,
                                                    Artifact.sha256.in_(shas))
                          .execution_options(synchronize_session=False))
    session.flush()
    for sha in shas:  # equal bytes are stored once: keep them while another row names them
        if session.scalar(sa.select(sa.func.count()).select_from(Artifact)
                          .where(Artifact.sha256 == sha)) == 0:
            store.delete(sha)
    return int(res.rowcount)  # type: ignore[attr-defined]
