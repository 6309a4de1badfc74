"""Docs that tests keep true: README's first commands, every setting, every CLI --help."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kernel.settings import Settings
from lodestone.cli import build_parser
from tests.helpers import ROOT


def test_readme_starts_with_the_two_commands() -> None:
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:40])
    assert "make up" in head and "make test" in head


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text()
    missing = [f"LODESTONE_{n.upper()}" for n in Settings.model_fields if f"`LODESTONE_{n.upper()}`" not in doc]
    assert not missing, f"document these settings in docs/settings.md: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)  # type: ignore[arg-type]


@pytest.mark.parametrize("command", _subcommands())
def test_every_command_has_help(command: str) -> None:
    out = subprocess.run([sys.executable, "-m", "lodestone.cli", command, "--help"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "usage: lodestone" in out.stdout
    if command != "compact" and command != "init":
        assert "--" in out.stdout  # documents at least one option


SHIPPED = ("kernel", "lodestone", "ingestion", "webhooks", "pipelines", "experiments",
           "app_api", "dashboards", "content", "orchestration")


def test_only_settings_reads_lodestone_variables() -> None:
    """One Settings object: no module reads a ``LODESTONE_*`` variable from the environment
    by itself (kernel/settings.py builds and exports them; the CLI may set DAGSTER_*)."""
    offenders = []
    for package in SHIPPED:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "kernel" / "settings.py" or "migrations" in path.parts:
                continue
            text = path.read_text()
            if ("environ" in text or "getenv" in text) and '"LODESTONE_' in text:
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"read these through kernel.settings.Settings: {offenders}"


def test_readme_lists_every_top_level_folder() -> None:
    readme = (ROOT / "README.md").read_text()
    folders = sorted(p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")
                     and any(p.rglob("*.py")))
    missing = [f for f in folders if f"| `{f}/` |" not in readme]
    assert not missing, f"add these folders to the README's table: {missing}"
