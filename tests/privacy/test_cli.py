"""``lodestone privacy``: the scan finds a seeded person (exit 1), export writes the archive,
erase removes them, and the scan then exits 0."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from kernel.settings import Settings
from kernel.warehouse import open_warehouse
from tests.helpers import ROOT, child_env
from tests.privacy import person


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lodestone.cli", "privacy", *args],
                          env=child_env(settings), cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_scan_export_erase_scan(settings: Settings, tmp_path: Path) -> None:
    wh = open_warehouse(settings)
    person.seed(settings, wh)
    wh.close()
    who = ["--email", person.EMAIL, "--visitor-id", person.VISITOR]
    found = _cli(settings, "scan", *who)
    assert found.returncode == 1, found.stderr
    assert "lake/events/" in found.stdout and "metadata:leads.visitor_id" in found.stdout
    assert "metadata:leads.email" not in found.stdout  # stored encrypted (kernel.crypto)
    assert person.EMAIL not in found.stdout  # where, never what
    out = tmp_path / "alice.zip"
    exported = _cli(settings, "export", "--email", person.EMAIL, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["counts"]["events"] == 7
    with zipfile.ZipFile(out) as zf:
        assert {"person.json", "events.csv", "leads.csv"} <= set(zf.namelist())
        assert any(n.startswith("mail/") for n in zf.namelist())
    erased = _cli(settings, "erase", "--visitor-id", person.VISITOR)
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["rows"]["warehouse"] == {"events": 7}
    clean = _cli(settings, "scan", *who, "--visitor-id", person.SERVER_VISITOR)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "not found" in clean.stdout
