"""After-commit signals: run in-process callbacks once a transaction that did something
particular has committed (never for one that rolled back).

``signal.mark(session)`` inside the transaction; ``signal.connect(callback)`` to listen.
The outbox uses one to wake the webhook worker, config revisions one to reload the
collector's registry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


class CommitSignal:
    """Callbacks (no arguments, in the committing thread) after commits that ``mark``ed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._key = f"lodestone.signal.{name}"
        self._callbacks: list[Callable[[], object]] = []
        self._lock = threading.Lock()
        event.listen(Session, "after_commit", self._fire)
        event.listen(Session, "after_rollback", self._forget)

    def mark(self, session: Session) -> None:
        """Fire this signal when ``session``'s current transaction commits."""
        session.info[self._key] = True

    def connect(self, callback: Callable[[], object]) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[], object]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def _fire(self, session: Session) -> None:
        if not session.info.pop(self._key, False):
            return
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback()
            except Exception:  # a listener must never break the committing code
                log.exception("%s listener failed", self.name)

    def _forget(self, session: Session) -> None:
        session.info.pop(self._key, None)
