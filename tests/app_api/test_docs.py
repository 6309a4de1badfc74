"""docs/webhooks.md and docs/api.md stay true: every event type, setting and permission."""

from __future__ import annotations

import ast
import json
import re

from content.workflow import TRANSITIONS
from kernel.metadata.outbox import EVENT_TYPES
from kernel.permissions import ALL_PERMISSIONS
from tests.helpers import ROOT

WEBHOOKS_DOC = ROOT / "docs" / "webhooks.md"
API_DOC = ROOT / "docs" / "api.md"
SCANNED = ("app_api", "experiments", "kernel", "ingestion", "pipelines", "orchestration", "webhooks", "leads",
           "lodestone", "content")


def _documented_events() -> dict[str, str]:
    """event type -> the section under its '### `type`' heading."""
    text = WEBHOOKS_DOC.read_text()
    parts = re.split(r"^### `([a-z_]+\.[a-z_]+)`\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _emitted_literals() -> set[str]:
    """String literals that code passes as the event type to ``enqueue(...)``."""
    found: set[str] = set()
    for folder in SCANNED:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(
                        node.func, "attr", None)) == "enqueue":
                    args = list(node.args) + [k.value for k in node.keywords
                                              if k.arg == "event_type"]
                    found |= {a.value for a in args if isinstance(a, ast.Constant)
                              and isinstance(a.value, str) and "." in a.value}
    return found


def _lifecycle_events() -> set[str]:
    source = (ROOT / "experiments" / "lifecycle.py").read_text()
    return set(re.findall(r'"(experiment\.[a-z_]+)"\s*,\s*\{', source)) | set(
        re.findall(r'before,\s*"(experiment\.[a-z_]+)"', source))


def test_every_event_type_is_documented_with_an_example() -> None:
    documented = _documented_events()
    assert set(documented) == set(EVENT_TYPES), (
        f"undocumented: {sorted(set(EVENT_TYPES) - set(documented))}; "
        f"documented but unknown: {sorted(set(documented) - set(EVENT_TYPES))}")
    for event_type, section in documented.items():
        block = re.search(r"```json\n(.*?)```", section, flags=re.S)
        assert block, f"{event_type}: add a JSON payload example"
        example = json.loads(block.group(1))
        assert example["type"] == event_type and {"id", "timestamp", "data"} <= set(example)


def test_every_emitted_event_type_is_known() -> None:
    emitted = _emitted_literals() | _lifecycle_events() | {
        e for _, _, e in TRANSITIONS.values() if e}
    assert {"lead.created", "magnet.published", "experiment.promoted",
            "experiment.rolled_back", "experiment.stopped"} <= emitted
    assert emitted <= set(EVENT_TYPES), sorted(emitted - set(EVENT_TYPES))


def test_permissions_are_documented() -> None:
    # Settings (LODESTONE_*) are checked once, against docs/settings.md, by tests/test_docs.py.
    for permission in ALL_PERMISSIONS:
        assert f"`{permission}`" in API_DOC.read_text(), f"document {permission}"
