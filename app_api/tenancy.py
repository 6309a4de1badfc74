"""Tenant isolation by construction for metadata sessions.

A session marked with :func:`scope_session` (or wrapped in :class:`TenantSession`) can only
see and write rows of one organization:

* every ORM ``SELECT``/``UPDATE``/``DELETE`` gets ``org_id == <org>`` added to each
  org-scoped entity it touches (``with_loader_criteria``, SQLAlchemy's multi-tenancy
  recipe), including ``session.get()``, relationship and lazy loads;
* the ``organizations`` table is narrowed to the caller's own row;
* a flush refuses new or changed rows of another organization, and fills a missing
  ``org_id`` with the session's.

Code that forgets its own ``WHERE org_id = ...`` therefore still cannot leak or touch
another tenant's data. Raw SQL (``text()``) and Core statements on tables bypass the ORM
and are not used by the API.
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, with_loader_criteria

from kernel.metadata.base import Base, OrgScoped
from kernel.metadata.models import Organization

TENANT_KEY = "lodestone.tenant_org_id"

M = TypeVar("M", bound=Base)


class TenantViolationError(RuntimeError):
    """A tenant-scoped session was asked to write a row of another organization."""

    def __init__(self, org_id: str, row_org_id: str | None, entity: str) -> None:
        super().__init__(
            f"session is scoped to organization {org_id}; refusing to write a {entity} "
            f"of organization {row_org_id}"
        )
        self.org_id, self.row_org_id, self.entity = org_id, row_org_id, entity


def scope_session(session: Session, org_id: str) -> Session:
    """Mark ``session`` so every ORM statement and flush is limited to ``org_id``."""
    if not org_id:
        raise ValueError("a tenant scope needs an org_id")
    current = session.info.get(TENANT_KEY)
    if current is not None and current != org_id:
        raise TenantViolationError(current, org_id, "session scope")
    session.info[TENANT_KEY] = org_id
    return session


def tenant_of(session: Session) -> str | None:
    """The organization a session is scoped to, or None for an unscoped session."""
    value = session.info.get(TENANT_KEY)
    return str(value) if value is not None else None


@event.listens_for(Session, "do_orm_execute")
def _add_tenant_criteria(state: ORMExecuteState) -> None:
    org_id = state.session.info.get(TENANT_KEY)
    if org_id is None:
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_select and (state.is_column_load or state.is_relationship_load):
        return  # the criteria below already propagate to these loads
    state.statement = state.statement.options(
        with_loader_criteria(OrgScoped, lambda cls: cls.org_id == org_id, include_aliases=True),
        with_loader_criteria(Organization, lambda cls: cls.id == org_id, include_aliases=True),
    )


@event.listens_for(Session, "before_flush")
def _check_tenant_writes(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    org_id = session.info.get(TENANT_KEY)
    if org_id is None:
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Organization):
            if obj.id != org_id or obj in session.new or obj in session.deleted:
                raise TenantViolationError(org_id, obj.id, "organization")
        elif isinstance(obj, OrgScoped):
            if obj.org_id is None and obj in session.new:
                obj.org_id = org_id
            if obj.org_id != org_id:
                raise TenantViolationError(org_id, obj.org_id, type(obj).__name__)
            history = sa.inspect(obj).attrs.org_id.history
            if history.deleted and any(old != org_id for old in history.deleted):
                raise TenantViolationError(org_id, str(history.deleted[0]), type(obj).__name__)


class TenantSession:
    """A metadata session that only ever reads or writes one organization's rows.

    ``get``/``select``/``add`` are the everyday calls; ``session`` is the underlying
    (also scoped) SQLAlchemy session for library functions that take one.
    """

    def __init__(self, session: Session, org_id: str) -> None:
        self.session = scope_session(session, org_id)
        self.org_id = org_id

    def get(self, model: type[M], id_: str) -> M | None:
        """The row of ``model`` with primary key ``id_`` in this organization, else None."""
        if model is Organization:
            return self.session.get(model, id_) if id_ == self.org_id else None
        stmt = sa.select(model).where(model.id == id_)  # type: ignore[attr-defined]
        if issubclass(model, OrgScoped):
            stmt = stmt.where(model.org_id == self.org_id)
        return self.session.scalars(stmt).first()

    def select(self, model: type[M]) -> sa.Select[Any]:
        """``SELECT model`` already filtered to this organization."""
        stmt = sa.select(model)
        if issubclass(model, OrgScoped):
            stmt = stmt.where(model.org_id == self.org_id)
        return stmt

    def scalars(self, stmt: sa.Select[Any]) -> Any:
        return self.session.scalars(stmt)

    def scalar(self, stmt: sa.Select[Any]) -> Any:
        return self.session.scalar(stmt)

    def execute(self, stmt: Any) -> Any:
        return self.session.execute(stmt)

    def add(self, obj: M) -> M:
        """Add ``obj`` to this organization (``org_id`` set when missing, checked otherwise)."""
        if isinstance(obj, OrgScoped):
            if obj.org_id is None:
                obj.org_id = self.org_id
            elif obj.org_id != self.org_id:
                raise TenantViolationError(self.org_id, obj.org_id, type(obj).__name__)
        self.session.add(obj)
        return obj

    def delete(self, obj: Base) -> None:
        self.session.delete(obj)

    def flush(self) -> None:
        self.session.flush()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def organization(self) -> Organization:
        """The caller's own organization."""
        org = self.session.get(Organization, self.org_id)
        if org is None:
            raise LookupError(f"organization {self.org_id} does not exist")
        return org
