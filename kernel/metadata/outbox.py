"""The transactional outbox: domain events written with the change they describe.

``enqueue`` adds an ``OutboxEvent`` to the caller's session; the webhook worker
(``webhooks.worker``) fans committed events out to subscribed endpoints. Every
event type is listed in ``EVENT_TYPES`` and documented in ``docs/webhooks.md`` (a test
checks both).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from kernel.metadata.models import OutboxEvent
from kernel.metadata.signals import CommitSignal

#: Every event type that can be emitted, with a one-line meaning.
EVENT_TYPES: dict[str, str] = {
    "lead.created": "A visitor opted in to a magnet (a new lead).",
    "lead.confirmed": "A lead confirmed their address (double opt-in) and got the magnet.",
    "magnet.approved": "A magnet in review was approved and may be published.",
    "magnet.published": "A magnet went live.",
    "magnet.archived": "A magnet was archived and is no longer served.",
    "experiment.started": "An experiment started assigning visitors.",
    "experiment.stopped": "An experiment stopped assigning visitors; no winner yet.",
    "experiment.promoted": "A winning variant was promoted (by the sensor or a person).",
    "experiment.rolled_back": "An experiment was rolled back; everyone sees the control.",
    "webhook.test": "A test event sent on request to one endpoint.",
}

#: Fired after a commit that enqueued events (wakes the in-process webhook worker).
ENQUEUED = CommitSignal("outbox")


class UnknownEventTypeError(ValueError):
    """``enqueue`` was called with an event type that is not in ``EVENT_TYPES``."""

    def __init__(self, event_type: str) -> None:
        super().__init__(
            f"unknown event type {event_type!r}; add it to kernel.metadata.outbox.EVENT_TYPES "
            "and document it in docs/webhooks.md"
        )
        self.event_type = event_type


def enqueue(session: Session, org_id: str, event_type: str, data: dict[str, Any]) -> OutboxEvent:
    """Add an event to the outbox in the caller's transaction and return it (flushed).

    Args:
        event_type: One of ``EVENT_TYPES``, e.g. ``"magnet.published"``.
        data: JSON-safe payload; it becomes the ``data`` member of the webhook body.
    """
    if event_type not in EVENT_TYPES:
        raise UnknownEventTypeError(event_type)
    row = OutboxEvent(org_id=org_id, event_type=event_type, payload=data)
    session.add(row)
    session.flush()
    ENQUEUED.mark(session)
    return row


def add_commit_listener(callback: Callable[[], object]) -> None:
    """Call ``callback`` (no arguments) after each commit that enqueued events.

    In-process wake-up only (the worker also polls), so delivery starts right away.
    """
    ENQUEUED.connect(callback)


def remove_commit_listener(callback: Callable[[], object]) -> None:
    ENQUEUED.disconnect(callback)
