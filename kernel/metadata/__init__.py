"""Metadata store: SQLAlchemy 2 models and Alembic migrations on SQLite or PostgreSQL.

Typical use::

    engine = make_engine(settings.metadata_url)
    migrate(engine)                      # idempotent; safe at every start-up
    SessionLocal = make_session_factory(engine)
    with SessionLocal.begin() as session:
        session.add(Organization(name="Acme", slug="acme"))
"""

from kernel.metadata.base import Base
from kernel.metadata.db import (
    URL_ENV,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    make_session_factory,
    migrate,
)
from kernel.metadata.enums import (
    ActorType,
    ConsentMode,
    DeliveryStatus,
    ExperimentStatus,
    GenerationStatus,
    MagnetStatus,
    MagnetType,
    Role,
)
from kernel.metadata.ids import new_id
from kernel.metadata.models import (
    RESPONSE_BODY_LIMIT,
    AdSpend,
    AIGeneration,
    ApiKey,
    AuditLog,
    AuditLogImmutableError,
    Experiment,
    KnowledgeDocument,
    KnowledgePassage,
    Lead,
    LeadMagnet,
    MagnetVariant,
    Organization,
    OutboxEvent,
    Site,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from kernel.metadata.tokens import (
    NewApiKey,
    generate_api_key,
    hash_api_secret,
    new_site_key,
    new_webhook_secret,
    split_api_key,
    verify_api_secret,
)
from kernel.metadata.types import JSONType, NaiveDatetimeError, UTCDateTime, utcnow

__all__ = [
    "RESPONSE_BODY_LIMIT",
    "URL_ENV",
    "AIGeneration",
    "ActorType",
    "AdSpend",
    "ApiKey",
    "AuditLog",
    "AuditLogImmutableError",
    "Base",
    "ConsentMode",
    "DeliveryStatus",
    "Experiment",
    "ExperimentStatus",
    "GenerationStatus",
    "JSONType",
    "KnowledgeDocument",
    "KnowledgePassage",
    "Lead",
    "LeadMagnet",
    "MagnetStatus",
    "MagnetType",
    "MagnetVariant",
    "NaiveDatetimeError",
    "NewApiKey",
    "Organization",
    "OutboxEvent",
    "Role",
    "Site",
    "UTCDateTime",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "current_revision",
    "downgrade",
    "generate_api_key",
    "hash_api_secret",
    "head_revision",
    "make_engine",
    "make_session_factory",
    "migrate",
    "new_id",
    "new_site_key",
    "new_webhook_secret",
    "split_api_key",
    "utcnow",
    "verify_api_secret",
]
