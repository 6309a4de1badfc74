"""Metadata store: SQLAlchemy 2 models and Alembic migrations on SQLite or PostgreSQL.

Typical use::

    engine = make_engine(settings.metadata_url)
    migrate(engine)                      # idempotent; safe at every start-up
    SessionLocal = make_session_factory(engine)
    with SessionLocal.begin() as session:
        session.add(Organization(name="Acme", slug="acme"))

The names below are imported lazily (on first use), so importing a light submodule such
as ``kernel.metadata.enums`` does not load SQLAlchemy, Alembic and every model.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the submodule that defines it
_LAZY = {
    "AIGeneration": "kernel.metadata.models",
    "ActorType": "kernel.metadata.enums",
    "AdSpend": "kernel.metadata.models",
    "ApiKey": "kernel.metadata.models",
    "AuditLog": "kernel.metadata.models",
    "AuditLogImmutableError": "kernel.metadata.models",
    "Base": "kernel.metadata.base",
    "ConsentMode": "kernel.metadata.enums",
    "DeliveryStatus": "kernel.metadata.enums",
    "Experiment": "kernel.metadata.models",
    "ExperimentStatus": "kernel.metadata.enums",
    "GenerationStatus": "kernel.metadata.enums",
    "JSONType": "kernel.metadata.types",
    "KnowledgeDocument": "kernel.metadata.models",
    "KnowledgePassage": "kernel.metadata.models",
    "Lead": "kernel.metadata.models",
    "LeadMagnet": "kernel.metadata.models",
    "MagnetStatus": "kernel.metadata.enums",
    "MagnetType": "kernel.metadata.enums",
    "MagnetVariant": "kernel.metadata.models",
    "NaiveDatetimeError": "kernel.metadata.types",
    "NewApiKey": "kernel.metadata.tokens",
    "Organization": "kernel.metadata.models",
    "OutboxEvent": "kernel.metadata.models",
    "RESPONSE_BODY_LIMIT": "kernel.metadata.models",
    "Role": "kernel.metadata.enums",
    "Site": "kernel.metadata.models",
    "URL_ENV": "kernel.metadata.db",
    "UTCDateTime": "kernel.metadata.types",
    "User": "kernel.metadata.models",
    "WebhookDelivery": "kernel.metadata.models",
    "WebhookEndpoint": "kernel.metadata.models",
    "current_revision": "kernel.metadata.db",
    "downgrade": "kernel.metadata.db",
    "generate_api_key": "kernel.metadata.tokens",
    "hash_api_secret": "kernel.metadata.tokens",
    "head_revision": "kernel.metadata.db",
    "make_engine": "kernel.metadata.db",
    "make_session_factory": "kernel.metadata.db",
    "migrate": "kernel.metadata.db",
    "new_id": "kernel.metadata.ids",
    "new_site_key": "kernel.metadata.tokens",
    "new_webhook_secret": "kernel.metadata.tokens",
    "split_api_key": "kernel.metadata.tokens",
    "utcnow": "kernel.metadata.types",
    "verify_api_secret": "kernel.metadata.tokens",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
