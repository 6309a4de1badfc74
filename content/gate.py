"""The quality gate in front of ``submit`` and ``publish``: every check of content.quality
on the magnet's current document, with the organization's brand voice.

``checks(session, magnet, settings)`` is what the reviewer sees (``GET …/checks``) and what
content.workflow.transition consults; a failing check blocks the move with every number and
threshold in the message, unless an admin overrides it (audited as
``magnet.check_overridden``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from content.brand_kits import get_record
from content.document import DocumentError, migrate
from content.quality import org_context, run_checks
from content.quality.result import CheckResult
from kernel.errors import DomainError
from kernel.metadata.models import LeadMagnet
from kernel.settings import Settings

#: The gate a transition consults: (session, magnet) -> results.
Gate = Callable[[Session, LeadMagnet], list[CheckResult]]


class ChecksFailedError(DomainError):
    """A quality check failed; ``details`` hold each failed check (a 409)."""

    code = "checks_failed"


def checks(session: Session, magnet: LeadMagnet, settings: Settings) -> list[CheckResult]:
    """Every quality check on ``magnet``'s document (a document that does not validate is
    one failed ``document`` check naming the error)."""
    try:
        document = migrate(magnet.content or {}, magnet.type)
    except DocumentError as exc:
        return [CheckResult("document", False, None, None,
                            f"The document is not valid: {exc}. Fix it with PUT "
                            f"/v1/magnets/{magnet.id}/document.")]
    row = get_record(session, magnet.org_id)
    voice = (row.kit or {}).get("voice") if row is not None else None
    ctx = org_context(session, magnet.org_id, magnet_id=magnet.id, voice=voice,
                      settings=settings)
    return run_checks(document, ctx)


def gate_for(settings: Settings) -> Gate:
    """The gate with ``settings``' thresholds, for content.workflow.transition."""
    return lambda session, magnet: checks(session, magnet, settings)
