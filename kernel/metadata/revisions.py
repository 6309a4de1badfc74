"""Config revisions: how every process learns that a site, key, user or experiment changed.

The collector caches sites, API keys and running experiments (``ingestion.registry``), the
landing pages their magnets, variants and builds (``publishing.page_cache``). Any
flush that adds, changes or deletes one of those rows bumps its organization's
``config_revision`` in the same transaction, so:

* in the committing process, listeners registered here run right after the commit (the
  collector reloads its registry before the API answers: a revoked key is refused at once);
* every other process polls :func:`fingerprint` (one tiny query) once a second and reloads
  when it moved, so a revoked key or a deleted site stops working there within ~1–2 s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from kernel.metadata.models import (
    ApiKey,
    Artifact,
    Experiment,
    LeadMagnet,
    MagnetVariant,
    Organization,
    Site,
    User,
)
from kernel.metadata.privacy import ConsentPurpose, ConsentText
from kernel.metadata.signals import CommitSignal

#: Rows the collector's registry and the landing pages' snapshots
#: (``publishing.page_cache``: the opt-in form's consent purposes too) are built from.
WATCHED = (Site, ApiKey, Experiment, User, LeadMagnet, MagnetVariant, Artifact, ConsentPurpose,
           ConsentText)
#: Fired after a commit that changed a watched row in this process.
CHANGED = CommitSignal("config revisions")


def fingerprint(session: Session) -> tuple[int, int]:
    """(organizations, sum of their revisions): moves on every bump, creation or deletion."""
    count, total = session.execute(sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(Organization.config_revision), 0))).one()
    return int(count), int(total)


def add_change_listener(callback: Callable[[], object]) -> None:
    """Call ``callback`` (no arguments, in the committing thread) after each commit that
    changed a watched row in this process."""
    CHANGED.connect(callback)


def remove_change_listener(callback: Callable[[], object]) -> None:
    CHANGED.disconnect(callback)


@event.listens_for(Session, "before_flush")
def _bump(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    orgs: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, WATCHED):
            if obj.org_id:  # set on construction or by TenantSession.add
                orgs.add(obj.org_id)
        elif isinstance(obj, Organization) and obj not in session.new and obj.id:
            orgs.add(obj.id)  # e.g. its consent mode
    if not orgs:
        return
    # Core UPDATE on the session's connection: no ORM events, no autoflush recursion.
    session.connection().execute(
        sa.update(Organization).where(Organization.id.in_(sorted(orgs)))
        .values(config_revision=Organization.config_revision + 1))
    CHANGED.mark(session)
