"""``lodestone brand set|show`` against the metadata store, as a real process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from kernel.metadata import Organization, make_engine, make_session_factory, migrate
from kernel.metadata.models import BrandKitRecord
from kernel.settings import Settings
from tests.helpers import ROOT, child_env, make_settings


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lodestone.cli", "brand", *args], cwd=ROOT,
                          env=child_env(settings), capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # real processes (worker/server start-up, WeasyPrint)
def test_brand_set_and_show(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    engine = make_engine(settings.resolved_metadata_url)
    migrate(engine)
    with make_session_factory(engine).begin() as s:
        s.add(Organization(name="Acme", slug="acme"))
    logo = io.BytesIO()
    Image.new("RGB", (8, 8), "#0a3d62").save(logo, "PNG")
    (tmp_path / "logo.png").write_bytes(logo.getvalue())
    (tmp_path / "bad.yaml").write_text("name: Pale\ncolors:\n  text: '#bbbbbb'\n")
    (tmp_path / "brand.yaml").write_text(
        "name: Acme\ncompany: Acme Ltd\ncolors:\n  primary: '#0a3d62'\nlogo: logo.png\n"
        "voice:\n  avoid: [synergy]\n")

    bad = _cli(settings, "set", str(tmp_path / "bad.yaml"))
    assert bad.returncode == 2 and "contrast 1.9" in bad.stderr and "4.5:1" in bad.stderr
    with make_session_factory(engine)() as s:  # nothing half-written
        assert s.scalar(sa.select(sa.func.count()).select_from(BrandKitRecord)) == 0

    ok = _cli(settings, "set", str(tmp_path / "brand.yaml"), "--org", "acme")
    assert ok.returncode == 0, ok.stderr
    assert "stored (version 2, logo image/png)" in ok.stdout
    shown = json.loads(_cli(settings, "show", "--org", "acme").stdout)
    assert shown["kit"]["company"] == "Acme Ltd" and shown["kit"]["voice"]["avoid"] == ["synergy"]
    assert shown["logo"]["media_type"] == "image/png"
    assert shown["logo"]["size"] == len(logo.getvalue())
    assert "logo" not in shown["kit"]  # bytes live in the artifact store, not the row
