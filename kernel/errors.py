"""Errors of the domain services (magnets, leads, webhooks, ...), independent of HTTP.

A service raises one of these with a message a person can act on; the API maps ``code``
to a status once (``app_api.errors``), the CLI prints the message, a job records it.
"""

from __future__ import annotations

from typing import Any


class DomainError(ValueError):
    """A request the domain refuses. ``code`` is stable; ``details`` are JSON-safe."""

    code = "invalid"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFoundError(DomainError):
    """The named record does not exist in the caller's organization."""

    code = "not_found"

    def __init__(self, kind: str, id_: str) -> None:
        super().__init__(f"no {kind} with id {id_!r} in your organization")
        self.kind, self.id = kind, id_


class ConflictError(DomainError):
    """The change would duplicate or contradict an existing record."""

    code = "conflict"


class TransitionError(DomainError):
    """The record's current state does not allow the action."""

    code = "invalid_transition"
