"""What a landing page shows: the published magnet, the visitor's variant, its content.

The variant is chosen here, on the server, with the experiment's own assignment
(``experiments.assignment.assign`` over ``ingestion.registry.experiment_config``: the
snippet's hash, seed, weights and coverage), so a visitor sees the same arm on the page
as the snippet would give them, with no flicker and no client script. A promoted
experiment's config serves the winner to everyone and records no exposure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiments.assignment import assign
from ingestion.registry import experiment_config
from kernel.errors import DomainError, NotFoundError
from kernel.metadata.enums import ExperimentStatus, MagnetStatus
from kernel.metadata.models import Experiment, LeadMagnet, MagnetVariant

#: The consent asked when a magnet defines none: one purpose, unticked by default.
DEFAULT_CONSENTS = ({"purpose": "marketing_email", "version": "1", "required": False,
                     "text": "Send me occasional emails with new resources. "
                             "I can unsubscribe at any time."},)
MAX_FIELDS = 10


class MagnetGoneError(DomainError):
    """The magnet was archived: the page answers 410 with a friendly message."""

    code = "gone"


@dataclass(frozen=True)
class Assignment:
    """The arm a visitor is served; ``experiment`` empty when no live experiment."""

    experiment: str = ""
    variant: str = ""
    promoted: bool = False

    @property
    def records_exposure(self) -> bool:
        return bool(self.experiment and self.variant and not self.promoted)


@dataclass
class PageContent:
    headline: str
    subheadline: str
    benefits: list[str]
    cta: str
    social_proof: str
    fields: list[dict[str, Any]] = field(default_factory=list)
    consents: list[dict[str, Any]] = field(default_factory=list)


def published_magnet(session: Session, org_id: str, slug: str) -> LeadMagnet:
    """The organization's magnet ``slug`` if it is live.

    Raises:
        NotFoundError: no such magnet, or not published.
        MagnetGoneError: archived.
    """
    magnet = session.scalar(sa.select(LeadMagnet).where(LeadMagnet.org_id == org_id,
                                                        LeadMagnet.slug == slug))
    if magnet is None or magnet.status not in (MagnetStatus.PUBLISHED, MagnetStatus.ARCHIVED):
        raise NotFoundError("magnet", slug)
    if magnet.status == MagnetStatus.ARCHIVED:
        raise MagnetGoneError(f"{magnet.name} is no longer offered")
    return magnet


def live_experiment(session: Session, magnet: LeadMagnet) -> Experiment | None:
    """The magnet's running or promoted experiment (the newest if there are several)."""
    return session.scalar(
        sa.select(Experiment)
        .where(Experiment.org_id == magnet.org_id, Experiment.magnet_id == magnet.id,
               Experiment.status.in_((ExperimentStatus.RUNNING, ExperimentStatus.PROMOTED)))
        .order_by(Experiment.created_at.desc()).limit(1))


def assignment_for(experiment: Experiment | None, visitor_id: str) -> Assignment:
    """The visitor's arm, exactly as the snippet computes it from the same config."""
    cfg = experiment_config(experiment) if experiment is not None else None
    if cfg is None or not visitor_id:
        return Assignment()
    variant = assign(cfg["k"], visitor_id, cfg["v"], cfg["w"], cfg["c"])
    return Assignment(cfg["k"], variant or "", bool(cfg.get("p")))


def _variant(magnet: LeadMagnet, key: str) -> MagnetVariant | None:
    variants = list(magnet.variants)
    chosen = next((v for v in variants if key and v.key == key), None)
    return chosen or next((v for v in variants if v.is_control), None)


def _text(value: Any, limit: int) -> str:
    return str(value).strip()[:limit] if isinstance(value, str | int | float) else ""


def page_content(magnet: LeadMagnet, variant_key: str,
                 purposes: list[dict[str, Any]] | None = None) -> PageContent:
    """The page's words: the magnet's ``content`` overlaid by the served variant's.

    Consent checkboxes: the magnet's own ``consents`` when it defines some, else the
    organization's form purposes (``purposes``, leads.consent.form_consents), else
    ``DEFAULT_CONSENTS``.
    """
    merged: dict[str, Any] = dict(magnet.content or {})
    variant = _variant(magnet, variant_key)
    if variant is not None:
        merged.update({k: v for k, v in (variant.content or {}).items() if v not in (None, "")})
    benefits = merged.get("benefits") or []
    fields = [{"key": _text(f["key"], 40), "label": _text(f.get("label") or f["key"], 100),
               "required": bool(f.get("required")),
               "max_length": min(int(f.get("max_length") or 200), 1000)}
              for f in (merged.get("fields") or [])
              if isinstance(f, dict) and isinstance(f.get("key"), str)
              and f["key"].isidentifier()]
    consents = [{"purpose": _text(c["purpose"], 40), "text": _text(c["text"], 500),
                 "version": _text(c.get("version") or "1", 20),
                 "required": bool(c.get("required"))}
                for c in (merged.get("consents") or []) if isinstance(c, dict)
                and isinstance(c.get("purpose"), str) and c["purpose"].isidentifier()
                and c.get("text")]
    return PageContent(
        headline=_text(merged.get("headline") or merged.get("title") or magnet.name, 200),
        subheadline=_text(merged.get("subheadline") or merged.get("subtitle")
                          or merged.get("description") or "", 400),
        benefits=[_text(b, 200) for b in benefits if _text(b, 200)][:8]
        if isinstance(benefits, list) else [],
        # a string only: a document's "cta" is its closing call-to-action block, not the button
        cta=_text(merged.get("cta"), 60) or "Send me the free copy",
        social_proof=_text(merged.get("social_proof") or "", 200),
        fields=fields[:MAX_FIELDS],
        consents=consents or [dict(c) for c in (purposes or DEFAULT_CONSENTS)],
    )
