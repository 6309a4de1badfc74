"""Find everything about a person and pack it as one archive (GDPR art. 15/20, CCPA).

``collect`` gathers every store's records; ``write_archive`` writes ``person.json`` (all of
it), one CSV per kind of record and the mail files themselves into a zip, atomically.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from content.artifacts import ArtifactStore
from kernel.durable import fsync_dir
from kernel.settings import Settings
from privacy.stores import files, metadata, spool, warehouse
from privacy.subject import Subject

EXPORTS = Path("privacy") / "exports"


def collect(session: Session, wh: Any, settings: Settings, subject: Subject) -> dict[str, Any]:
    """Every record of ``subject`` per store (``wh``: a Warehouse or a ScopedWarehouse)."""
    data: dict[str, Any] = {"subject": {"email": subject.email,
                                        "lead_ids": list(subject.lead_ids),
                                        "visitor_ids": list(subject.visitor_ids)}}
    data.update(metadata.find(session, subject))
    data["events"] = warehouse.find(wh, subject)
    data["spooled_events"] = spool.find(settings.spool_dir, subject)
    data["mail_files"] = files.find(settings.data_path, subject)
    data["artifacts"] = files.find_artifacts(session, ArtifactStore.from_settings(settings),
                                             subject)
    return data


def counts(data: dict[str, Any]) -> dict[str, int]:
    return {k: len(v) for k, v in data.items() if isinstance(v, list)}


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    names = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(buf, names)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v
                         for k, v in r.items()})
    return buf.getvalue()


def archive_path(settings: Settings, request_id: str) -> Path:
    return settings.data_path / EXPORTS / f"{request_id}.zip"


def write_archive(settings: Settings, request_id: str, data: dict[str, Any]) -> int:
    """Write the archive of request ``request_id``; returns its size in bytes."""
    path = archive_path(settings, request_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("person.json", json.dumps(data, indent=2, default=str))
        for name, rows in data.items():
            if isinstance(rows, list) and rows:
                zf.writestr(f"{name}.csv", _csv(rows))
        for item in data.get("mail_files", []):
            source = settings.data_path / item["path"]
            if source.suffix == ".eml" and source.exists():
                zf.write(source, f"mail/{source.name}")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return path.stat().st_size
