"""Servers on a data directory `lodestone init` never ran on (or on an older schema) stop
with one line that says what to run, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kernel.metadata.db import downgrade, migrate
from tests.helpers import ROOT, child_env, free_port, make_settings


def _start(command: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = child_env(make_settings(data_dir))
    return subprocess.run([sys.executable, "-m", "lodestone.cli", command, "--port",
                           str(free_port())], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_collector_and_serve_refuse_an_uninitialized_data_directory(tmp_path: Path) -> None:
    for command in ("collector", "serve"):
        out = _start(command, tmp_path / "never-initialized")
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr
        assert out.stderr.strip().splitlines()[-1] == (
            "lodestone: no metadata database at sqlite:///"
            f"{tmp_path / 'never-initialized' / 'metadata.db'}; run `lodestone init` first")


def test_an_older_schema_names_the_missing_migration(tmp_path: Path) -> None:
    data = tmp_path / "old"
    data.mkdir()
    url = f"sqlite:///{data / 'metadata.db'}"
    migrate(url)
    downgrade(url, "0001")
    out = _start("serve", data)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    line = out.stderr.strip().splitlines()[-1]
    assert "is at revision 0001" in line and "Missing migrations: 0002 (" in line
    assert line.endswith("Run `lodestone init` to apply them")


def test_database_commands_on_an_older_schema_say_what_to_run(tmp_path: Path) -> None:
    data = tmp_path / "old"
    data.mkdir()
    url = f"sqlite:///{data / 'metadata.db'}"
    migrate(url)
    downgrade(url, "0001")
    env = child_env(make_settings(data))
    for argv in (["privacy", "report", "--out", str(tmp_path / "r.json")], ["brand", "show"]):
        out = subprocess.run([sys.executable, "-m", "lodestone.cli", *argv], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 2 and "Traceback" not in out.stderr, (argv, out.stderr[-500:])
        assert out.stderr.strip().splitlines()[-1].endswith("Run `lodestone init` to apply them")
