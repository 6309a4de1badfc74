"""Analytics consent in force per visitor id, for organizations in ``consent_required`` mode.

The consent records (``leads.consent``) are the truth: the banner, the snippet's
``lodestone.consent()`` (``POST /consent``) and ``/v1/consent/*`` all append to them. The
collector keeps, per process, the newest ``analytics`` record per (organization, visitor id)
in a dictionary, so the hot path asks a dictionary, never the database:

* at start-up (and every ``full_every_s`` to forget erased people) it reads them all;
* every second, and right after a commit in this process that appended a record
  (``leads.consent.RECORDED``), it reads only the records of the last ``overlap_s`` seconds (an index on
  ``(purpose, created_at)``), so a grant or a withdrawal counts in this process at once and
  in every other one within about a second. Re-reading a window makes a record committed
  late (its ``created_at`` older than a newer one's) count as well; newest-wins is applied
  in ``(created_at, id)`` order, so reading a record twice changes nothing.

A record given for a lead (``lead_id``) covers the visitor id the lead opted in with.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from kernel.metadata.models import ConsentRecord, Lead
from leads.consent import PURPOSE_ANALYTICS as PURPOSE


def _query(since: dt.datetime | None) -> Any:
    visitor = sa.func.coalesce(ConsentRecord.visitor_id, Lead.visitor_id)
    stmt = (sa.select(ConsentRecord.org_id, visitor, ConsentRecord.granted,
                      ConsentRecord.created_at)
            .outerjoin(Lead, sa.and_(Lead.id == ConsentRecord.lead_id,
                                     Lead.org_id == ConsentRecord.org_id))
            .where(ConsentRecord.purpose == PURPOSE, visitor.is_not(None)))
    if since is not None:
        stmt = stmt.where(ConsentRecord.created_at >= since)
    return stmt.order_by(ConsentRecord.created_at, ConsentRecord.id)


class ConsentState:
    """Per organization, the visitor ids whose analytics consent is granted and those whose
    consent was withdrawn (two sets: the hot path asks ``v in granted``, no call per event)."""

    def __init__(self, session_factory: sessionmaker[Session], *, overlap_s: float = 60.0,
                 full_every_s: float = 600.0) -> None:
        self.sessions = session_factory
        self.overlap_s = overlap_s
        self.full_every_s = full_every_s
        self._granted: dict[str, set[str]] = {}
        self._withdrawn: dict[str, set[str]] = {}
        self._newest: dt.datetime | None = None
        self._full_at = 0.0
        self._lock = threading.Lock()

    @staticmethod
    def _set(granted: dict[str, set[str]], withdrawn: dict[str, set[str]], org_id: str,
             visitor: str, yes: bool) -> None:
        # One set operation at a time: readers on the event loop never need the lock.
        if yes:
            withdrawn.get(org_id, _EMPTY).discard(visitor)
            granted.setdefault(org_id, set()).add(visitor)
        else:
            granted.get(org_id, _EMPTY).discard(visitor)
            withdrawn.setdefault(org_id, set()).add(visitor)

    def _apply(self, rows: Iterable[Any], granted: dict[str, set[str]],
               withdrawn: dict[str, set[str]]) -> None:
        newest = self._newest
        for org_id, visitor, yes, created in rows:  # oldest first: the newest record wins
            self._set(granted, withdrawn, org_id, visitor, bool(yes))
            if newest is None or created > newest:
                newest = created
        self._newest = newest

    def load(self) -> None:
        """Read every analytics record (start-up; periodically, to forget erased people)."""
        granted: dict[str, set[str]] = {}
        withdrawn: dict[str, set[str]] = {}
        with self._lock, self.sessions() as s:
            self._newest = None
            self._apply(s.execute(_query(None)), granted, withdrawn)
            self._granted, self._withdrawn = granted, withdrawn
            self._full_at = time.monotonic()

    def tail(self) -> None:
        """Read the records of the last ``overlap_s`` seconds (cheap: indexed, few rows)."""
        if time.monotonic() - self._full_at > self.full_every_s:
            self.load()
            return
        with self._lock, self.sessions() as s:
            since = None if self._newest is None else self._newest - dt.timedelta(
                seconds=self.overlap_s)
            self._apply(s.execute(_query(since)), self._granted, self._withdrawn)

    def note(self, org_id: str, visitor_id: str, granted: bool) -> None:
        """Count a choice this process just committed, before the next :meth:`tail`."""
        self._set(self._granted, self._withdrawn, org_id, visitor_id, granted)

    def get(self, org_id: str, visitor_id: str) -> bool | None:
        """True granted, False withdrawn, None never recorded."""
        if visitor_id in self._granted.get(org_id, _EMPTY):
            return True
        return False if visitor_id in self._withdrawn.get(org_id, _EMPTY) else None

    def granted(self, org_id: str, visitor_id: str) -> bool:
        return visitor_id in self._granted.get(org_id, _EMPTY)

    def granted_ids(self, org_id: str) -> AbstractSet[str]:
        """The organization's granted visitor ids (read-only; fetched once per batch)."""
        return self._granted.get(org_id, _EMPTY)

    def withdrawn_ids(self, org_id: str) -> AbstractSet[str]:
        """The organization's withdrawn visitor ids (read-only; fetched once per batch)."""
        return self._withdrawn.get(org_id, _EMPTY)

    def __len__(self) -> int:
        return sum(map(len, self._granted.values())) + sum(map(len, self._withdrawn.values()))


_EMPTY: set[str] = set()  # never added to: the sets above are created per organization
