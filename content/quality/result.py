"""What a quality check returns, and what it needs to know about the organization."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from content.quality.voice_rules import Voice
from kernel.settings import Settings


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict, with the number the reviewer sees beside its threshold.

    ``value`` and ``threshold`` are in the check's own unit (similarity 0..1, grade level,
    count of problems); ``message`` is one sentence a person can act on; ``details`` lists
    the findings (matches, sentences, links, statements with their passages).
    """

    name: str
    passed: bool
    value: float | None
    threshold: float | None
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (API responses, the blocked-publish error's details)."""
        return asdict(self)


@dataclass(frozen=True)
class OrgContext:
    """What checks read about the organization besides the document.

    Args:
        org_id: every query is scoped to it.
        session: metadata session (a TenantSession's ``.session`` or a plain one).
        settings: thresholds (``LODESTONE_QUALITY_*``).
        magnet_id: the magnet being checked; it and its own AI generations are not
            compared with it.
        voice: the brand voice (words to avoid); None = no voice check findings.
        reading_level: ``general``, ``professional`` or ``expert``; None = inferred from the
            document's audience.
    """

    org_id: str
    session: Session
    settings: Settings
    magnet_id: str | None = None
    voice: Voice | None = None
    reading_level: str | None = None
