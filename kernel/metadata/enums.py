"""Enumerations stored as short strings (VARCHAR + CHECK), not native PostgreSQL enums.

A CHECK constraint is portable to SQLite and changing the allowed values is an ordinary
batch migration, whereas ``ALTER TYPE ... ADD VALUE`` cannot run inside a transaction.
"""

from __future__ import annotations

from enum import StrEnum


class ConsentMode(StrEnum):
    """How an organization's trackers treat visitor consent."""

    COOKIELESS = "cookieless"
    CONSENT_REQUIRED = "consent_required"
    FIRST_PARTY = "first_party"


class Role(StrEnum):
    """A user's role inside an organization (RBAC)."""

    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


class MagnetType(StrEnum):
    """Kind of lead magnet."""

    EBOOK = "ebook"
    CHECKLIST = "checklist"
    TEMPLATE = "template"
    CALCULATOR = "calculator"
    INFOGRAPHIC = "infographic"


class MagnetStatus(StrEnum):
    """Editorial workflow state of a lead magnet."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class ExperimentStatus(StrEnum):
    """Lifecycle of an A/B test."""

    DRAFT = "draft"
    RUNNING = "running"
    STOPPED = "stopped"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"


class GenerationStatus(StrEnum):
    """Outcome of an AI text generation."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ActorType(StrEnum):
    """Who performed an audited action."""

    USER = "user"
    API_KEY = "api_key"
    SYSTEM = "system"


class DeliveryStatus(StrEnum):
    """State of one webhook delivery attempt."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    GAVE_UP = "gave_up"


class JobStatus(StrEnum):
    """State of a durable job (jobs/): queued -> running -> succeeded | failed."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class LegalBasis(StrEnum):
    """The lawful basis of a processing activity (GDPR art. 6(1) a-f)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"
