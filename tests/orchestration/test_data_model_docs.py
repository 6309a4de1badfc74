"""docs/data-model.md documents every model, every asset and every column they produce."""

from __future__ import annotations

import re

from kernel.warehouse.templating import model_names
from orchestration.definitions import all_assets
from tests.helpers import ROOT
from tests.orchestration.simulated import Simulated

DOC = ROOT / "docs" / "data-model.md"


def _sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## `([a-z_]+)`\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_model_and_asset_has_a_section() -> None:
    sections = _sections()
    assets = {spec.key.to_user_string() for a in all_assets for spec in a.specs}
    missing = (set(model_names()) | assets | {"events"}) - set(sections)
    assert not missing, f"document these in {DOC}: {sorted(missing)}"


def test_every_column_is_documented(simulated: Simulated) -> None:
    sections = _sections()
    undocumented = {}
    with simulated.warehouse() as wh:
        for name, section in sections.items():
            if name == "events":
                continue
            columns = wh.describe(f"SELECT * FROM {wh.ref_sql(name)}")
            missing = [f"{c} {t}" for c, t in columns if f"| `{c}` | {t} |" not in section]
            if missing:
                undocumented[name] = missing
    assert not undocumented, f"document (with their types) in {DOC}: {undocumented}"
