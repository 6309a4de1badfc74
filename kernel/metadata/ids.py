"""Primary keys: ``<prefix>_<uuid4 hex>``, e.g. ``mag_3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b``.

Why this scheme: ids appear in URLs, logs and webhook payloads. A uuid4 carries 122 random
bits (not guessable, not enumerable, no coordination between processes), the hex form is
URL-safe without escaping, and the prefix tells a reader what kind of object an id names
(as Stripe's ids do). Ids are at most ``ID_LENGTH`` characters.
"""

from __future__ import annotations

import uuid

#: Prefix per table. Keep them short and unique; they are part of the public id format.
PREFIXES: dict[str, str] = {
    "organizations": "org",
    "users": "usr",
    "api_keys": "key",
    "sites": "site",
    "lead_magnets": "mag",
    "magnet_variants": "var",
    "experiments": "exp",
    "leads": "lead",
    "ai_generations": "gen",
    "knowledge_documents": "kdoc",
    "knowledge_passages": "kpas",
    "audit_log": "aud",
    "webhook_endpoints": "whe",
    "outbox_events": "evt",
    "webhook_deliveries": "dlv",
    "ad_spend": "spend",
    "mail_messages": "mail",
    "mail_suppressions": "sup",
    "mail_campaigns": "camp",
    "jobs": "job",
    "builds": "bld",
    "artifacts": "art",
    "brand_kits": "brand",
    "magnet_documents": "mdoc",
    "privacy_requests": "prq",
    "retention_policies": "ret",
    "consent_purposes": "purp",
    "consent_texts": "ctxt",
    "consent_records": "cons",
    "processing_activities": "rpa",
}

#: Column length of every id column (longest prefix + "_" + 32 hex digits, with room).
ID_LENGTH = 40


def new_id(prefix: str) -> str:
    """Return a fresh id such as ``org_<32 hex>``.

    Args:
        prefix: Short lowercase kind tag, e.g. ``"mag"``; see ``PREFIXES``.
    """
    if not prefix.isalpha() or not prefix.islower():
        raise ValueError(f"id prefix must be lowercase letters, got {prefix!r}")
    return f"{prefix}_{uuid.uuid4().hex}"
