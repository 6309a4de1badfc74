"""Run every quality check on a document: the gate in front of submit and publish."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from content.document import Document
from content.quality.factcheck import check_facts
from content.quality.links import check_alt_texts, check_links
from content.quality.readability import check_readability
from content.quality.result import CheckResult, OrgContext
from content.quality.structure import check_structure
from content.quality.uniqueness import check_uniqueness
from content.quality.voice import check_voice
from content.quality.voice_rules import Voice
from kernel.settings import Settings, get_settings

Check = Callable[[Document, OrgContext], CheckResult]

#: Name -> check, in the order a reviewer reads them.
CHECKS: dict[str, Check] = {
    "structure": check_structure,
    "readability": check_readability,
    "uniqueness": check_uniqueness,
    "facts": check_facts,
    "voice": check_voice,
    "links": check_links,
    "alt_text": check_alt_texts,
}


def run_checks(document: Document, ctx: OrgContext, only: list[str] | None = None) -> list[CheckResult]:
    """Every check (or those named in ``only``) on ``document``, in a fixed order.

    A check that raises is reported as a failed result naming the error rather than hiding
    the others: the gate stays closed and the reviewer sees why.
    """
    names = only or list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown quality checks {unknown}; known: {', '.join(CHECKS)}")
    results = []
    for name in names:
        try:
            results.append(CHECKS[name](document, ctx))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            results.append(CheckResult(name, False, None, None,
                                       f"The {name} check could not run: {exc}"))
    return results


def blocking(results: list[CheckResult]) -> list[CheckResult]:
    """The failed checks; publishing is allowed when this is empty (or an admin overrides)."""
    return [r for r in results if not r.passed]


def blocked_reason(results: list[CheckResult]) -> str | None:
    """One message naming every failed check with its number and threshold, or None."""
    failed = blocking(results)
    if not failed:
        return None
    return "Quality checks failed: " + "; ".join(
        f"{r.name} {_fmt(r.value)} (limit {_fmt(r.threshold)}): {r.message}" for r in failed)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def check_magnet(session: Session, org_id: str, magnet_id: str, *, voice: Any = None,
                 reading_level: str | None = None, settings: Settings | None = None) -> list[CheckResult]:
    """Every check on a stored magnet's current content (any schema version).

    Raises:
        LookupError: no such magnet in this organization (a 404).
        content.document.DocumentError: its content is not a valid document (a 422 naming the field).
    """
    from content.document import migrate
    from kernel.metadata.models import LeadMagnet

    magnet = session.get(LeadMagnet, magnet_id)
    if magnet is None or magnet.org_id != org_id:
        raise LookupError(f"magnet {magnet_id} not found")
    document = migrate(magnet.content or {}, magnet.type)
    ctx = org_context(session, org_id, magnet_id=magnet_id, voice=voice, reading_level=reading_level,
                      settings=settings)
    return run_checks(document, ctx)


def org_voice(session: Session, org_id: str) -> Any:
    """The organization's stored brand voice (``settings["brand"]["voice"]``), or None."""
    from kernel.metadata.models import Organization

    org = session.get(Organization, org_id)
    brand = (org.settings or {}).get("brand") if org is not None else None
    return brand.get("voice") if isinstance(brand, dict) else None


def org_context(session: Session, org_id: str, *, magnet_id: str | None = None,
                voice: Any = None, reading_level: str | None = None,
                settings: Settings | None = None) -> OrgContext:
    """An OrgContext; ``voice`` may be a brand kit's Voice, a dict or None.

    When ``voice`` is None the organization's ``settings["brand"]["voice"]`` (if any) is used.
    """
    if voice is None:
        voice = org_voice(session, org_id)
    return OrgContext(org_id=org_id, session=session, settings=settings or get_settings(),
                      magnet_id=magnet_id, voice=Voice.from_any(voice), reading_level=reading_level)
