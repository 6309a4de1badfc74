"""The record of processing activities (GDPR art. 30) of an organization.

An organization that never wrote one gets a register derived from what the product itself
processes for it (:func:`derived`): leads through opt-in forms, mail, one activity per
consent purpose, analytics events, each active webhook endpoint as a recipient, and the AI
endpoint when one is configured. The first write stores that default register and then
applies the change, so an administrator edits a useful document rather than a blank one.
Every write is audited (``processing_activity.*``) in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.errors import ConflictError, DomainError, NotFoundError
from kernel.metadata.audit import Actor, record, snapshot
from kernel.metadata.enums import ConsentMode, LegalBasis
from kernel.metadata.models import (
    Organization,
    ProcessingActivity,
    RetentionPolicy,
    WebhookEndpoint,
)
from kernel.settings import Settings
from leads import consent

FIELDS = ("name", "purpose", "consent_purpose", "legal_basis", "data_categories",
          "data_subjects", "recipients", "retention", "transfers")
LIST_FIELDS = ("data_categories", "data_subjects", "recipients")


class RegisterError(DomainError):
    code = "invalid"


@dataclass(frozen=True)
class Activity:
    """One activity as the API, the report and the PDF show it (``id`` None: derived)."""

    name: str
    purpose: str
    legal_basis: str
    data_categories: list[str]
    data_subjects: list[str]
    recipients: list[str]
    retention: str
    consent_purpose: str | None = None
    transfers: list[dict[str, Any]] = field(default_factory=list)
    id: str | None = None
    created_at: Any = None
    updated_at: Any = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def host_of(url: str) -> str:
    """The host (and port) of a URL without credentials, path or query: safe to print."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if host and parts.port else host


def _days(n: int | None, what: str) -> str:
    return f"{what}: {n} days (retention policy)" if n else f"{what}: kept until erased " \
        "(no retention policy set)"


def derived(session: Session, org_id: str, settings: Settings) -> list[Activity]:
    """The default register: what Lodestone processes for ``org_id``, read from its data
    and the running configuration (nothing is stored)."""
    org = session.get(Organization, org_id)
    policy = session.scalars(sa.select(RetentionPolicy)
                             .where(RetentionPolicy.org_id == org_id)).first()
    event_days = policy.raw_events_days if policy else None
    lead_days = policy.unconfirmed_leads_days if policy else None
    hooks = session.scalars(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.org_id == org_id, WebhookEndpoint.is_active.is_(True))
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)).all()
    hook_recipients = [f"Webhook endpoint {host_of(h.url)} ({h.id})" for h in hooks]
    smtp = [f"SMTP relay {host_of(settings.smtp_url)}"] if settings.smtp_url else []
    lead_fields = ["email address", "name", "form answers", "consent records",
                   "cookieless visitor id", "UTM parameters"]
    leads = ["Leads (people who opt in through a form or the API)"]
    out = [
        Activity(
            name="Lead capture through opt-in forms",
            purpose="Deliver the resource a person asked for on a landing page or opt-in "
                    "form, and confirm the sign-up (double opt-in).",
            legal_basis=LegalBasis.CONTRACT.value, data_categories=lead_fields,
            data_subjects=leads, recipients=hook_recipients,
            retention=_days(lead_days, "Unconfirmed leads") + "; confirmed leads: until "
                      "erased on request"),
        Activity(
            name="Transactional email",
            purpose="Send confirmation and download links for the resource requested.",
            legal_basis=LegalBasis.CONTRACT.value,
            data_categories=["email address", "name", "message content", "delivery status"],
            data_subjects=leads, recipients=smtp,
            retention="Kept with the lead; deleted with it (erasure or retention)"),
    ]
    analytics_key = None
    for p in consent.purposes(session, org_id):
        if p.key == "analytics":
            analytics_key = p.key
            continue
        out.append(Activity(
            name=p.name, purpose=p.text, legal_basis=LegalBasis.CONSENT.value,
            consent_purpose=p.key, data_categories=["email address", "name", "consent records"],
            data_subjects=leads,
            recipients=smtp + (["Partners named in the privacy notice"]
                               if p.key == "partner_sharing" else []),
            retention="Until consent is withdrawn or the person is erased"))
    needs_consent = org is not None and org.consent_mode == ConsentMode.CONSENT_REQUIRED
    warehouse = ([f"ClickHouse server {host_of(settings.warehouse_url)}"]
                 if settings.warehouse_url.startswith("http") else [])
    out.append(Activity(
        name="Website analytics",
        purpose="Measure visits, conversions and experiments on the organization's landing "
                "pages and sites.",
        legal_basis=(LegalBasis.CONSENT if needs_consent
                     else LegalBasis.LEGITIMATE_INTERESTS).value,
        consent_purpose=analytics_key if needs_consent else None,
        data_categories=["page views and events", "referrer and UTM parameters",
                         "device type from the user agent",
                         "cookieless visitor id (keyed hash, salt rotated daily)"],
        data_subjects=["Website visitors"], recipients=warehouse,
        retention=_days(event_days, "Raw events") + "; aggregates without identifiers kept"))
    if hooks:
        out.append(Activity(
            name="Delivery to the organization's integrations (webhooks)",
            purpose="Send lead and event notifications to the systems the organization "
                    "connected (CRM, automation).",
            legal_basis=LegalBasis.LEGITIMATE_INTERESTS.value,
            data_categories=["lead summary (email, name, magnet)", "event type and time"],
            data_subjects=leads, recipients=hook_recipients,
            retention=f"Delivery log: {settings.webhooks_retention_days} days"))
    if settings.openai_base_url:
        out.append(Activity(
            name="AI-assisted content drafting",
            purpose="Draft lead-magnet content from the organization's prompts and documents.",
            legal_basis=LegalBasis.LEGITIMATE_INTERESTS.value,
            data_categories=[f"prompt text (personal data screened: PII policy "
                             f"{settings.pii_policy})"],
            data_subjects=["Team members writing prompts"],
            recipients=[f"AI endpoint {host_of(settings.openai_base_url)}"],
            retention="Generations kept with the magnet until deleted"))
    return out


def _of(row: ProcessingActivity) -> Activity:
    return Activity(name=row.name, purpose=row.purpose, legal_basis=str(row.legal_basis.value),
                    data_categories=list(row.data_categories or []),
                    data_subjects=list(row.data_subjects or []),
                    recipients=list(row.recipients or []), retention=row.retention,
                    consent_purpose=row.consent_purpose, transfers=list(row.transfers or []),
                    id=row.id, created_at=row.created_at, updated_at=row.updated_at)


def _stored(session: Session, org_id: str) -> list[ProcessingActivity]:
    return list(session.scalars(sa.select(ProcessingActivity)
                                .where(ProcessingActivity.org_id == org_id)
                                .order_by(ProcessingActivity.created_at,
                                          ProcessingActivity.id)))


def register(session: Session, org_id: str, settings: Settings) -> tuple[list[Activity], str]:
    """The organization's activities and where they come from: ``stored`` or ``default``."""
    rows = _stored(session, org_id)
    if rows:
        return [_of(r) for r in rows], "stored"
    return derived(session, org_id, settings), "default"


def _check(session: Session, org_id: str, values: dict[str, Any]) -> None:
    basis = values.get("legal_basis")
    try:
        LegalBasis(str(basis))
    except ValueError:
        raise RegisterError(f"legal_basis must be one of {', '.join(b.value for b in LegalBasis)}",
                            [{"field": "legal_basis"}]) from None
    key = values.get("consent_purpose")
    if key is not None and key not in {p.key for p in consent.purposes(session, org_id)}:
        raise RegisterError(f"the organization has no consent purpose {key!r}; create it at "
                            "/v1/consent/purposes or name an existing one",
                            [{"field": "consent_purpose"}])
    if basis == LegalBasis.CONSENT.value and not key:
        raise RegisterError("an activity whose legal basis is consent names the consent "
                            "purpose it relies on (consent_purpose)",
                            [{"field": "consent_purpose"}])
    for name in LIST_FIELDS:
        if not all(isinstance(v, str) for v in values.get(name) or []):
            raise RegisterError(f"{name} is a list of strings", [{"field": name}])


def _unique(session: Session, org_id: str, name: str, other_than: str | None = None) -> None:
    stmt = sa.select(ProcessingActivity.id).where(ProcessingActivity.org_id == org_id,
                                                  ProcessingActivity.name == name)
    if other_than:
        stmt = stmt.where(ProcessingActivity.id != other_than)
    if session.scalar(stmt) is not None:
        raise ConflictError(f"an activity named {name!r} exists; pick another name or edit it")


def _insert(session: Session, org_id: str, values: dict[str, Any]) -> ProcessingActivity:
    row = ProcessingActivity(org_id=org_id, **{k: values.get(k) for k in FIELDS})
    row.legal_basis = LegalBasis(values["legal_basis"])
    for name in (*LIST_FIELDS, "transfers"):
        setattr(row, name, list(values.get(name) or []))
    row.retention = values.get("retention") or ""
    session.add(row)
    session.flush()
    return row


def _seed(session: Session, org_id: str, actor: Actor, settings: Settings) -> None:
    if _stored(session, org_id):
        return
    defaults = derived(session, org_id, settings)
    for a in defaults:
        _insert(session, org_id, {k: getattr(a, k) for k in FIELDS})
    record(session, org_id=org_id, actor=actor, action="processing_activity.seeded",
           resource_type="processing_activity", resource_id=None,
           after={"activities": [a.name for a in defaults]})


def create(session: Session, org_id: str, actor: Actor, settings: Settings,
           values: dict[str, Any]) -> Activity:
    """Add an activity (storing the default register first if none is stored); the caller
    commits.

    Raises:
        RegisterError: an unknown legal basis or consent purpose, consent without a purpose.
        ConflictError: the organization has an activity of that name.
    """
    _check(session, org_id, values)
    _seed(session, org_id, actor, settings)
    _unique(session, org_id, values["name"])
    row = _insert(session, org_id, values)
    record(session, org_id=org_id, actor=actor, action="processing_activity.created",
           resource_type="processing_activity", resource_id=row.id, after=snapshot(row))
    return _of(row)


def _row(session: Session, org_id: str, activity_id: str) -> ProcessingActivity:
    row = session.scalar(sa.select(ProcessingActivity).where(
        ProcessingActivity.org_id == org_id, ProcessingActivity.id == activity_id))
    if row is None:
        raise NotFoundError("processing activity", activity_id)
    return row


def get(session: Session, org_id: str, activity_id: str) -> Activity:
    return _of(_row(session, org_id, activity_id))


def update(session: Session, org_id: str, actor: Actor, activity_id: str,
           changes: dict[str, Any]) -> Activity:
    """Change the given fields of a stored activity (audited with before and after)."""
    row = _row(session, org_id, activity_id)
    before = snapshot(row)
    merged = {**{k: before[k] for k in FIELDS}, **changes}
    _check(session, org_id, merged)
    if "name" in changes:
        _unique(session, org_id, changes["name"], other_than=row.id)
    for name, value in changes.items():
        if name == "legal_basis":
            value = LegalBasis(value)
        elif name in (*LIST_FIELDS, "transfers"):
            value = list(value or [])
        elif name == "retention":
            value = value or ""
        setattr(row, name, value)
    session.flush()
    record(session, org_id=org_id, actor=actor, action="processing_activity.updated",
           resource_type="processing_activity", resource_id=row.id, before=before,
           after=snapshot(row))
    return _of(row)


def delete(session: Session, org_id: str, actor: Actor, activity_id: str) -> None:
    """Remove a stored activity (audited with its last state)."""
    row = _row(session, org_id, activity_id)
    before = snapshot(row)
    session.delete(row)
    session.flush()
    record(session, org_id=org_id, actor=actor, action="processing_activity.deleted",
           resource_type="processing_activity", resource_id=activity_id, before=before)
