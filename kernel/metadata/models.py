"""Metadata models (SQLAlchemy 2 typed declarative).

Conventions: string primary keys ``<prefix>_<uuid4 hex>`` (see ``ids.py``); every table
but ``organizations`` carries ``org_id`` and an index led by it; timestamps are
``UTCDateTime`` (aware UTC in, aware UTC out); JSON is JSONB on PostgreSQL. Python
defaults fill ids and timestamps; server defaults exist so raw SQL inserts also work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import (
    Mapped,
    Mapper,
    ORMExecuteState,
    Session,
    mapped_column,
    relationship,
    validates,
)

from kernel.metadata.base import Base, CreatedAt, OrgScoped, Timestamps, id_column, id_ref, str_enum
from kernel.metadata.enums import (
    ActorType,
    ConsentMode,
    DeliveryStatus,
    ExperimentStatus,
    GenerationStatus,
    JobStatus,
    MagnetStatus,
    MagnetType,
    Role,
)
from kernel.metadata.sealed import Sealed, register
from kernel.metadata.tokens import new_site_key, new_webhook_secret
from kernel.metadata.types import JSONType, UTCDateTime, utcnow

#: Longest response body kept on a webhook delivery (characters); the rest is cut off.
RESPONSE_BODY_LIMIT = 2048


def _normalize_email(value: str) -> str:
    # Emails are compared case-insensitively in practice; storing them lower-cased lets a
    # plain unique constraint enforce "one account / one lead per address".
    return value.strip().lower()


class Organization(CreatedAt, Base):
    """A tenant. Everything else belongs to exactly one organization."""

    __tablename__ = "organizations"

    id: Mapped[str] = id_column("organizations")
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    consent_mode: Mapped[ConsentMode] = mapped_column(
        str_enum(ConsentMode, "consent_mode"),
        default=ConsentMode.COOKIELESS,
        server_default=ConsentMode.COOKIELESS.value,
    )
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: Bumped with every change to what the collector caches (kernel.metadata.revisions).
    config_revision: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


class User(OrgScoped, CreatedAt, Base):
    """A person who signs in to an organization; email is unique per organization.

    The email is personal data: only its ciphertext is stored (``email_ct``, under the
    organization's data key). ``email_index`` is its blind index keyed by the master key,
    not the organization (``Keyring.account_index``): sign-in finds an address's accounts
    in every organization with one indexed query (``kernel.crypto.account_email_indexes``).
    """

    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("org_id", "email_index"),
                      sa.Index("ix_users_email_index", "email_index"))

    id: Mapped[str] = id_column("users")
    email_ct: Mapped[bytes] = mapped_column(sa.LargeBinary())
    email_index: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(
        str_enum(Role, "role"), default=Role.VIEWER, server_default=Role.VIEWER.value
    )
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    email = Sealed("email_ct", index="email_index", normalize=_normalize_email,
                   account_index=True)


class ApiKey(OrgScoped, CreatedAt, Base):
    """A server-side credential; only ``sha256(secret)`` is stored (see ``tokens.py``)."""

    __tablename__ = "api_keys"
    __table_args__ = (sa.Index("ix_api_keys_org_id", "org_id"),)

    id: Mapped[str] = id_column("api_keys")
    name: Mapped[str] = mapped_column(sa.String(200))
    prefix: Mapped[str] = mapped_column(sa.String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_by: Mapped[str | None] = id_ref("users", nullable=True, ondelete="SET NULL")
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None


class Site(OrgScoped, CreatedAt, Base):
    """A website that embeds the snippet/pixel, identified by its public ``site_key``."""

    __tablename__ = "sites"
    __table_args__ = (sa.Index("ix_sites_org_id", "org_id"),
                      sa.Index("ux_sites_custom_domain", "custom_domain", unique=True))

    id: Mapped[str] = id_column("sites")
    name: Mapped[str] = mapped_column(sa.String(200))
    site_key: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_site_key)
    allowed_origins: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: A host name (``go.example.com``) that serves this site's magnets' landing pages at
    #: ``/{magnet slug}`` (publishing.page_cache maps the Host header to it).
    custom_domain: Mapped[str | None] = mapped_column(sa.String(253))


class LeadMagnet(OrgScoped, Timestamps, Base):
    """An ebook, checklist, template, calculator or infographic offered for an opt-in."""

    __tablename__ = "lead_magnets"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "slug"),
        sa.Index("ix_lead_magnets_org_id_created_at", "org_id", "created_at"),
    )

    id: Mapped[str] = id_column("lead_magnets")
    site_id: Mapped[str | None] = id_ref("sites", nullable=True, ondelete="SET NULL")
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(120))
    type: Mapped[MagnetType] = mapped_column(str_enum(MagnetType, "magnet_type"))
    status: Mapped[MagnetStatus] = mapped_column(
        str_enum(MagnetStatus, "magnet_status"),
        default=MagnetStatus.DRAFT,
        server_default=MagnetStatus.DRAFT.value,
    )
    content: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    design: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: Bumped with every change of ``content`` (optimistic concurrency, content/documents.py).
    content_version: Mapped[int] = mapped_column(default=1, server_default="1")
    lead_value: Mapped[float | None] = mapped_column(sa.Double())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Opt-ins confirm by a link in a mail first (True) or are confirmed at once (False).
    double_opt_in: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_by: Mapped[str | None] = id_ref("users", nullable=True, ondelete="SET NULL")

    variants: Mapped[list[MagnetVariant]] = relationship(
        back_populates="magnet",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MagnetVariant.key",
    )


class MagnetVariant(OrgScoped, CreatedAt, Base):
    """One arm of a magnet's content/design, keyed ``'A'``, ``'B'``, … per magnet."""

    __tablename__ = "magnet_variants"
    __table_args__ = (
        sa.UniqueConstraint("magnet_id", "key"),
        sa.Index("ix_magnet_variants_org_id", "org_id"),
    )

    id: Mapped[str] = id_column("magnet_variants")
    magnet_id: Mapped[str] = id_ref("lead_magnets", ondelete="CASCADE")
    key: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    content: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    design: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    is_control: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    magnet: Mapped[LeadMagnet] = relationship(back_populates="variants")


class Experiment(OrgScoped, Timestamps, Base):
    """An A/B test on a magnet or a URL; ``key`` is unique per org and seeds assignment."""

    __tablename__ = "experiments"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "key"),
        sa.Index("ix_experiments_org_id_created_at", "org_id", "created_at"),
        sa.Index("ix_experiments_status", "status"),
        sa.CheckConstraint("coverage >= 0 AND coverage <= 1", name="coverage_range"),
        sa.CheckConstraint("alpha > 0 AND alpha < 1", name="alpha_range"),
        sa.CheckConstraint("guardrail_alpha > 0 AND guardrail_alpha < 1",
                           name="guardrail_alpha_range"),
        sa.CheckConstraint("srm_threshold >= 0 AND srm_threshold < 1",
                           name="srm_threshold_range"),
        sa.CheckConstraint("mde IS NULL OR mde > 0", name="mde_positive"),
        sa.CheckConstraint("holdout_share >= 0 AND holdout_share <= 0.5",
                           name="holdout_share_range"),
        sa.CheckConstraint("holdout_days >= 0", name="holdout_days_range"),
    )

    id: Mapped[str] = id_column("experiments")
    magnet_id: Mapped[str | None] = id_ref("lead_magnets", nullable=True)
    target_url: Mapped[str | None] = mapped_column(sa.String(2048))
    key: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    hypothesis: Mapped[str] = mapped_column(sa.Text(), default="", server_default="")
    primary_metric: Mapped[str] = mapped_column(
        sa.String(64), default="lead", server_default="lead"
    )
    guardrail_metrics: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: ``[{"key": "A", "name": "Control", "weight": 0.5}, ...]``
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    coverage: Mapped[float] = mapped_column(sa.Double(), default=1.0, server_default="1.0")
    status: Mapped[ExperimentStatus] = mapped_column(
        str_enum(ExperimentStatus, "experiment_status"),
        default=ExperimentStatus.DRAFT,
        server_default=ExperimentStatus.DRAFT.value,
    )
    winner: Mapped[str | None] = mapped_column(sa.String(32))
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Latest promotion evaluation, e.g. ``{"promote": false, "reasons": [...]}``.
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    min_runtime_hours: Mapped[int] = mapped_column(default=72, server_default="72")
    min_users_per_arm: Mapped[int] = mapped_column(default=1000, server_default="1000")
    alpha: Mapped[float] = mapped_column(sa.Double(), default=0.05, server_default="0.05")
    # Promotion rules (migration 0002); the server defaults are the rule in force before
    # them, so existing experiments keep their behaviour until edited.
    min_conversions: Mapped[int] = mapped_column(default=30, server_default="30")
    srm_threshold: Mapped[float] = mapped_column(sa.Double(), default=0.001,
                                                 server_default="0.001")
    guardrail_alpha: Mapped[float] = mapped_column(sa.Double(), default=0.05,
                                                   server_default="0.05")
    #: Planned minimum detectable relative effect; set: the one-sided mixture test tuned
    #: to it decides; NULL: gbstats' two-sided confidence sequence (the earlier rule).
    mde: Mapped[float | None] = mapped_column(sa.Double())
    #: ``[{"metric": "revenue", "margin": 0.15, "direction": "higher_is_better"}, ...]``;
    #: a guardrail metric without a rule keeps the "not significantly harmed" test.
    guardrails: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    # Holdout after promotion (migration 0009, experiments/holdout.py): this share of
    # visitors keeps the control for ``holdout_days`` while the guardrails are watched. The
    # server default 0 keeps existing experiments' behaviour (a promotion is final).
    holdout_share: Mapped[float] = mapped_column(sa.Double(), default=0.05, server_default="0")
    holdout_days: Mapped[int] = mapped_column(default=30, server_default="30")
    #: Set while a holdout runs (the promotion time); None when none runs.
    holdout_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: The running holdout's planned end; after it, when it ended.
    holdout_ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Lead(OrgScoped, CreatedAt, Base):
    """An opt-in: one per (organization, magnet, email).

    The email, name and free-form fields are personal data: only their ciphertexts are
    stored (``*_ct``, kernel.metadata.sealed); ``email_index`` is the keyed blind index that
    uniqueness and lookups by email use.
    """

    __tablename__ = "leads"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "magnet_id", "email_index"),
        sa.Index("ix_leads_org_id_created_at", "org_id", "created_at"),
        sa.Index("ix_leads_org_id_email_index", "org_id", "email_index"),
    )

    id: Mapped[str] = id_column("leads")
    magnet_id: Mapped[str] = id_ref("lead_magnets")
    variant: Mapped[str | None] = mapped_column(sa.String(32))
    email_ct: Mapped[bytes] = mapped_column(sa.LargeBinary())
    email_index: Mapped[str] = mapped_column(sa.String(64))
    name_ct: Mapped[bytes | None] = mapped_column(sa.LargeBinary())
    fields_ct: Mapped[bytes | None] = mapped_column(sa.LargeBinary())
    visitor_id: Mapped[str | None] = mapped_column(sa.String(64))
    consent: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    utm: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: Per-purpose consent as given: ``[{"purpose", "granted", "text", "version", "at"}]``.
    consents: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list,
                                                           server_default="[]")
    #: Labels for segments (``leads.tags``): from the magnet's ``content.tags`` at opt-in
    #: and ``PUT /v1/leads/{id}/tags``; campaigns can be sent to leads with a tag.
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default="[]")

    email = Sealed("email_ct", index="email_index", normalize=_normalize_email)
    name = Sealed("name_ct")
    fields = Sealed("fields_ct", json_value=True, empty=dict)


class AIGeneration(OrgScoped, CreatedAt, Base):
    """One call to a text model, kept for cost accounting and review."""

    __tablename__ = "ai_generations"
    __table_args__ = (
        sa.Index("ix_ai_generations_org_id_created_at", "org_id", "created_at"),
        sa.Index("ix_ai_generations_org_id_magnet_id", "org_id", "magnet_id"),
    )

    id: Mapped[str] = id_column("ai_generations")
    magnet_id: Mapped[str | None] = id_ref("lead_magnets", nullable=True, ondelete="SET NULL")
    model: Mapped[str] = mapped_column(sa.String(200))
    prompt: Mapped[str] = mapped_column(sa.Text())
    response: Mapped[str | None] = mapped_column(sa.Text())
    tokens_in: Mapped[int] = mapped_column(default=0, server_default="0")
    tokens_out: Mapped[int] = mapped_column(default=0, server_default="0")
    status: Mapped[GenerationStatus] = mapped_column(
        str_enum(GenerationStatus, "generation_status"),
        default=GenerationStatus.PENDING,
        server_default=GenerationStatus.PENDING.value,
    )
    created_by: Mapped[str | None] = id_ref("users", nullable=True, ondelete="SET NULL")
    #: Pipeline step: research, generate, optimize, visualize or personalize.
    step: Mapped[str] = mapped_column(sa.String(32), default="generate", server_default="generate")
    latency_ms: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(sa.Text())


class KnowledgeDocument(OrgScoped, CreatedAt, Base):
    """A reference document an organization uploaded for fact checks (its text, in passages)."""

    __tablename__ = "knowledge_documents"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "sha256"),
        sa.Index("ix_knowledge_documents_org_id_created_at", "org_id", "created_at"),
    )

    id: Mapped[str] = id_column("knowledge_documents")
    title: Mapped[str] = mapped_column(sa.String(300))
    filename: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    media_type: Mapped[str] = mapped_column(sa.String(100))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger())
    chars: Mapped[int] = mapped_column(default=0, server_default="0")
    passage_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_by: Mapped[str | None] = id_ref("users", nullable=True, ondelete="SET NULL")

    passages: Mapped[list[KnowledgePassage]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="KnowledgePassage.position",
    )


class KnowledgePassage(OrgScoped, Base):
    """A retrievable chunk (a few sentences) of a knowledge document, in reading order."""

    __tablename__ = "knowledge_passages"
    __table_args__ = (
        sa.UniqueConstraint("document_id", "position"),
        sa.Index("ix_knowledge_passages_org_id", "org_id"),
    )

    id: Mapped[str] = id_column("knowledge_passages")
    document_id: Mapped[str] = id_ref("knowledge_documents", ondelete="CASCADE")
    position: Mapped[int] = mapped_column()
    #: Nearest heading above the passage (empty when the document has none).
    heading: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    text: Mapped[str] = mapped_column(sa.Text())

    document: Mapped[KnowledgeDocument] = relationship(back_populates="passages")


class AuditLog(OrgScoped, CreatedAt, Base):
    """Who did what to which resource. Append-only.

    Rows are inserted and never changed: the ORM refuses UPDATE and DELETE of an
    ``AuditLog`` (``AuditLogImmutableError``), including bulk ``update()``/``delete()``
    statements run through a Session. Core statements on the table bypass the ORM; in
    production grant the application role only INSERT and SELECT on ``audit_log``. The
    only deletion path is erasing a whole organization (ON DELETE CASCADE).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_org_id_created_at", "org_id", "created_at"),
        sa.Index("ix_audit_log_resource", "org_id", "resource_type", "resource_id"),
    )

    id: Mapped[str] = id_column("audit_log")
    actor: Mapped[str] = mapped_column(sa.String(64))  # user id, api key id or "system"
    actor_type: Mapped[ActorType] = mapped_column(str_enum(ActorType, "actor_type"))
    action: Mapped[str] = mapped_column(sa.String(100))  # e.g. "experiment.promoted"
    resource_type: Mapped[str] = mapped_column(sa.String(64))
    resource_id: Mapped[str | None] = mapped_column(sa.String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    ip_hash: Mapped[str | None] = mapped_column(sa.String(64))


class AuditLogImmutableError(RuntimeError):
    """Raised when code tries to update or delete an audit log entry."""

    def __init__(self, operation: str, entry_id: str | None = None) -> None:
        super().__init__(f"audit_log is append-only: {operation} refused (entry {entry_id})")
        self.operation = operation
        self.entry_id = entry_id


@event.listens_for(AuditLog, "before_update")
def _refuse_audit_update(_mapper: Mapper[Any], _conn: sa.Connection, target: AuditLog) -> None:
    raise AuditLogImmutableError("UPDATE", target.id)


@event.listens_for(AuditLog, "before_delete")
def _refuse_audit_delete(_mapper: Mapper[Any], _conn: sa.Connection, target: AuditLog) -> None:
    raise AuditLogImmutableError("DELETE", target.id)


@event.listens_for(Session, "do_orm_execute")
def _refuse_audit_bulk(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        m.class_ is AuditLog for m in state.all_mappers
    ):
        raise AuditLogImmutableError("bulk UPDATE" if state.is_update else "bulk DELETE")


class WebhookEndpoint(OrgScoped, CreatedAt, Base):
    """A customer URL receiving signed events.

    ``secret`` is stored as-is because signing (HMAC) needs it. On rotation the old value
    moves to ``previous_secret`` until ``previous_secret_expires_at`` and deliveries carry
    both signatures, so receivers can switch without dropping events.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.Index("ix_webhook_endpoints_org_id", "org_id"),)

    id: Mapped[str] = id_column("webhook_endpoints")
    url: Mapped[str] = mapped_column(sa.String(2048))
    description: Mapped[str] = mapped_column(sa.Text(), default="", server_default="")
    secret: Mapped[str] = mapped_column(sa.String(100), default=new_webhook_secret)
    previous_secret: Mapped[str | None] = mapped_column(sa.String(100))
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    event_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    failing_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    def signing_secrets(self, now: dt.datetime) -> list[str]:
        """Secrets to sign with at ``now``: the current one, then the previous if unexpired."""
        secrets = [self.secret]
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and now < expires:
            secrets.append(self.previous_secret)
        return secrets

    def rotate_secret(self, now: dt.datetime, grace: dt.timedelta = dt.timedelta(hours=24)) -> str:
        """Install a new secret, keep the old one valid for ``grace``; return the new one."""
        self.previous_secret = self.secret
        self.previous_secret_expires_at = now + grace
        self.secret = new_webhook_secret()
        return self.secret


class OutboxEvent(OrgScoped, CreatedAt, Base):
    """A domain event written in the same transaction as the change it describes.

    The webhook dispatcher reads rows with ``dispatched_at IS NULL``, fans them out to
    ``WebhookDelivery`` rows and sets ``dispatched_at``: no event is lost if the process
    dies between the business write and the HTTP call.
    """

    __tablename__ = "outbox_events"
    __table_args__ = (
        sa.Index("ix_outbox_events_org_id_created_at", "org_id", "created_at"),
        sa.Index("ix_outbox_events_pending", "dispatched_at", "created_at"),
    )

    id: Mapped[str] = id_column("outbox_events")
    event_type: Mapped[str] = mapped_column(sa.String(100))
    #: The event's data (it can name a lead): encrypted, read through ``payload``.
    payload_ct: Mapped[bytes | None] = mapped_column(sa.LargeBinary())
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    payload = Sealed("payload_ct", json_value=True, empty=dict)


class WebhookDelivery(OrgScoped, CreatedAt, Base):
    """One attempt to deliver one outbox event to one endpoint."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "outbox_event_id", "attempt"),
        sa.Index("ix_webhook_deliveries_org_id_created_at", "org_id", "created_at"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_outbox_event_id", "outbox_event_id"),
        sa.CheckConstraint("attempt >= 1", name="attempt_positive"),
    )

    id: Mapped[str] = id_column("webhook_deliveries")
    endpoint_id: Mapped[str] = id_ref("webhook_endpoints", ondelete="CASCADE")
    outbox_event_id: Mapped[str] = id_ref("outbox_events", ondelete="CASCADE")
    attempt: Mapped[int] = mapped_column(default=1, server_default="1")
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "delivery_status"),
        default=DeliveryStatus.PENDING,
        server_default=DeliveryStatus.PENDING.value,
    )
    response_status: Mapped[int | None] = mapped_column()
    response_body: Mapped[str | None] = mapped_column(sa.Text())
    error: Mapped[str | None] = mapped_column(sa.Text())
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @validates("response_body")
    def _truncate_body(self, _key: str, value: str | None) -> str | None:
        if value is not None and len(value) > RESPONSE_BODY_LIMIT:
            return value[:RESPONSE_BODY_LIMIT]
        return value


class AdSpend(OrgScoped, CreatedAt, Base):
    """Daily spend per channel and campaign, for ROI. ``campaign`` is '' when unknown."""

    __tablename__ = "ad_spend"
    __table_args__ = (sa.UniqueConstraint("org_id", "date", "channel", "campaign"),)

    id: Mapped[str] = id_column("ad_spend")
    date: Mapped[dt.date] = mapped_column(sa.Date())
    channel: Mapped[str] = mapped_column(sa.String(100))
    campaign: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    amount: Mapped[float] = mapped_column(sa.Double())
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD", server_default="USD")


class MailMessage(OrgScoped, CreatedAt, Base):
    """One mail in the durable mail outbox, rendered when queued, sent by the mail worker.

    ``status``: pending (due at ``next_attempt_at``; a claim pushes that forward by a
    lease), sent, gave_up (retries exhausted or a permanent SMTP refusal) or suppressed
    (the address is on the organization's suppression list when the send came due).
    """

    __tablename__ = "mail_messages"
    __table_args__ = (
        sa.Index("ix_mail_messages_org_id_created_at", "org_id", "created_at"),
        sa.Index("ix_mail_messages_due", "status", "next_attempt_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )

    id: Mapped[str] = id_column("mail_messages")
    lead_id: Mapped[str | None] = id_ref("leads", nullable=True, ondelete="SET NULL")
    kind: Mapped[str] = mapped_column(sa.String(32))  # confirm | deliver | campaign
    #: Recipient and bodies are personal data: stored encrypted (kernel.metadata.sealed).
    to_addr_ct: Mapped[bytes] = mapped_column(sa.LargeBinary())
    to_name_ct: Mapped[bytes | None] = mapped_column(sa.LargeBinary())
    subject: Mapped[str] = mapped_column(sa.String(300))
    text_body_ct: Mapped[bytes] = mapped_column(sa.LargeBinary())
    html_body_ct: Mapped[bytes] = mapped_column(sa.LargeBinary())
    unsubscribe_url: Mapped[str] = mapped_column(sa.String(2048), default="", server_default="")
    message_id: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending",
                                        server_default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(sa.Text())

    to_addr = Sealed("to_addr_ct")
    to_name = Sealed("to_name_ct")
    text_body = Sealed("text_body_ct")
    html_body = Sealed("html_body_ct")


class MailSuppression(OrgScoped, CreatedAt, Base):
    """An address the organization must not mail: unsubscribed, bounced or complained.

    The address is personal data: only its ciphertext (``email_ct``) is stored, and
    ``email_index`` (the keyed blind index, as on leads) is what uniqueness and lookups
    use (``publishing.mail.outbox.suppression``).
    """

    __tablename__ = "mail_suppressions"
    __table_args__ = (sa.UniqueConstraint("org_id", "email_index"),)

    id: Mapped[str] = id_column("mail_suppressions")
    email_ct: Mapped[bytes] = mapped_column(sa.LargeBinary())
    email_index: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.String(32))  # unsubscribed | bounced | complained

    email = Sealed("email_ct", index="email_index", normalize=_normalize_email)


class MailCampaign(OrgScoped, CreatedAt, Base):
    """A mail announcing a magnet to confirmed leads who consented to ``purpose``.

    At ``scheduled_at`` the mail worker queues one mail per matching lead (``status``
    scheduled -> queued) and sends them at the organization's mail rate; an address
    suppressed meanwhile (unsubscribed mid-campaign) is skipped at send time.
    """

    __tablename__ = "mail_campaigns"
    __table_args__ = (
        sa.Index("ix_mail_campaigns_org_id_created_at", "org_id", "created_at"),
        sa.Index("ix_mail_campaigns_due", "status", "scheduled_at"),
    )

    id: Mapped[str] = id_column("mail_campaigns")
    magnet_id: Mapped[str] = id_ref("lead_magnets", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(sa.String(200))
    subject: Mapped[str] = mapped_column(sa.String(300))
    intro: Mapped[str] = mapped_column(sa.Text(), default="", server_default="")
    purpose: Mapped[str] = mapped_column(sa.String(64), default="marketing_email",
                                         server_default="marketing_email")
    #: ``{"magnet_ids": [...], "since": iso, "until": iso}``: whose leads (confirmed).
    segment: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    scheduled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(sa.String(16), default="scheduled",
                                        server_default="scheduled")
    queued: Mapped[int] = mapped_column(default=0, server_default="0")
class Job(OrgScoped, Timestamps, Base):
    """A unit of long work (a build, an AI draft) run by a worker, not inside a request.

    Claimed with a lease (``lease_until``): a worker that dies mid-job stops renewing it and
    another worker takes the job over when it expires (jobs/queue.py).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("ix_jobs_org_id_created_at", "org_id", "created_at"),
        sa.Index("ix_jobs_due", "status", "run_after"),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="progress_range"),
    )

    id: Mapped[str] = id_column("jobs")
    kind: Mapped[str] = mapped_column(sa.String(32))
    magnet_id: Mapped[str | None] = id_ref("lead_magnets", nullable=True, ondelete="CASCADE")
    status: Mapped[JobStatus] = mapped_column(
        str_enum(JobStatus, "job_status"), default=JobStatus.QUEUED,
        server_default=JobStatus.QUEUED.value)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    progress: Mapped[float] = mapped_column(sa.Double(), default=0.0, server_default="0")
    message: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    error: Mapped[str | None] = mapped_column(sa.Text())
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(default=3, server_default="3")
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                   server_default=sa.func.now())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    worker: Mapped[str | None] = mapped_column(sa.String(200))
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = id_ref("users", nullable=True, ondelete="SET NULL")


class Build(OrgScoped, CreatedAt, Base):
    """One rendering of a magnet's document (a version of it) into its output files."""

    __tablename__ = "builds"
    __table_args__ = (sa.Index("ix_builds_org_id_magnet_id_created_at", "org_id", "magnet_id",
                               "created_at"),)

    id: Mapped[str] = id_column("builds")
    magnet_id: Mapped[str] = id_ref("lead_magnets", ondelete="CASCADE")
    job_id: Mapped[str] = id_ref("jobs")
    document_version: Mapped[int] = mapped_column()
    template: Mapped[str | None] = mapped_column(sa.String(80))
    formats: Mapped[list[str]] = mapped_column(JSONType, default=list)
    warnings: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_by: Mapped[str | None] = id_ref("users", nullable=True, ondelete="SET NULL")

    job: Mapped[Job] = relationship(lazy="joined")
    artifacts: Mapped[list[Artifact]] = relationship(
        back_populates="build", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Artifact.name")


class Artifact(OrgScoped, CreatedAt, Base):
    """A file a build produced; its bytes live in the artifact store under ``sha256``."""

    __tablename__ = "artifacts"
    __table_args__ = (
        sa.UniqueConstraint("build_id", "name"),
        sa.Index("ix_artifacts_org_id_magnet_id", "org_id", "magnet_id"),
        sa.Index("ix_artifacts_sha256", "sha256"),
    )

    id: Mapped[str] = id_column("artifacts")
    magnet_id: Mapped[str] = id_ref("lead_magnets", ondelete="CASCADE")
    build_id: Mapped[str] = id_ref("builds", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(sa.String(200))
    media_type: Mapped[str] = mapped_column(sa.String(120))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger())
    sha256: Mapped[str] = mapped_column(sa.String(64))

    build: Mapped[Build] = relationship(back_populates="artifacts")


class BrandKitRecord(OrgScoped, Timestamps, Base):
    """An organization's brand kit (content.brand.BrandKit without the logo bytes, which
    live in the artifact store under ``logo_sha256``)."""

    __tablename__ = "brand_kits"
    __table_args__ = (sa.UniqueConstraint("org_id"),)

    id: Mapped[str] = id_column("brand_kits")
    kit: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    logo_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    logo_media_type: Mapped[str | None] = mapped_column(sa.String(64))
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    updated_by: Mapped[str | None] = id_ref("users", nullable=True, ondelete="SET NULL")


class MagnetDocument(OrgScoped, CreatedAt, Base):
    """A saved version of a magnet's document (the magnet's ``content`` is the newest)."""

    __tablename__ = "magnet_documents"
    __table_args__ = (
        sa.UniqueConstraint("magnet_id", "version"),
        sa.Index("ix_magnet_documents_org_id", "org_id"),
    )

    id: Mapped[str] = id_column("magnet_documents")
    magnet_id: Mapped[str] = id_ref("lead_magnets", ondelete="CASCADE")
    version: Mapped[int] = mapped_column()
    document: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: ``api`` (edited), ``ai`` (a draft job), ``offline`` (offline generator draft).
    source: Mapped[str] = mapped_column(sa.String(32), default="api", server_default="api")
    job_id: Mapped[str | None] = id_ref("jobs", nullable=True, ondelete="SET NULL")
    created_by: Mapped[str | None] = id_ref("users", nullable=True, ondelete="SET NULL")


for _sealed_model in (User, Lead, OutboxEvent, MailMessage, MailSuppression):
    register(_sealed_model)

from kernel.metadata.privacy import (  # noqa: E402  (they use Base and the tables above)
    ConsentPurpose,
    ConsentRecord,
    ConsentText,
    OrgDataKey,
)

__all_privacy__ = (ConsentPurpose, ConsentRecord, ConsentText, OrgDataKey)

# Data-subject requests and retention policies live in their own module (registered here so
# Alembic and the model/migration comparison see them).
from kernel.metadata.privacy_models import (  # noqa: E402, F401
    PrivacyRequest,
    ProcessingActivity,
    RetentionPolicy,
)
