"""Team accounts: people who sign in to an organization, their roles and passwords.

The rules (only an owner touches the owner role, the last active owner stays, a removed or
deactivated person's API keys are revoked) and their audit entries live here; the routes
in app_api/routes/users.py and auth.py call these in the request's transaction and commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app_api.auth.key_rights import revoke_keys_of
from app_api.auth.passwords import hash_password
from kernel.crypto import account_email_indexes
from kernel.errors import ConflictError, DomainError
from kernel.metadata.audit import Actor, record, snapshot
from kernel.metadata.enums import Role
from kernel.metadata.models import User


class OwnerOnlyError(DomainError):
    """Only an owner may create, change or remove owners, or hand out the owner role."""

    code = "forbidden"

    def __init__(self) -> None:
        super().__init__("only an owner can grant, change or remove the owner role")


def _auditor(session: Session, org_id: str, actor: Actor) -> Any:
    def audit(action: str, resource_type: str, resource_id: str | None,
              before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        record(session, org_id=org_id, actor=actor, action=action,
               resource_type=resource_type, resource_id=resource_id, before=before,
               after=after)
    return audit


def _owner_guard(caller_role: str | None, *roles: Role | None) -> None:
    if Role.OWNER in roles and caller_role != Role.OWNER.value:
        raise OwnerOnlyError()


def _keep_an_owner(session: Session, user: User) -> None:
    if user.role != Role.OWNER or not user.is_active:
        return
    owners = session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.org_id == user.org_id, User.role == Role.OWNER, User.is_active.is_(True)))
    if (owners or 0) <= 1:
        raise ConflictError("this is the last active owner; make someone else owner first")


def create_user(session: Session, org_id: str, actor: Actor, caller_role: str | None, *,
                email: str, name: str, role: Role, password: str | None) -> User:
    """A new person in ``org_id``; without a password they cannot sign in until one is set."""
    _owner_guard(caller_role, role)
    user = User(org_id=org_id, email=email, name=name, role=role,
                password_hash=hash_password(password) if password else None)
    if session.scalar(sa.select(User.id).where(
            User.org_id == org_id,
            User.email_index.in_(account_email_indexes(session, email)))) is not None:
        raise ConflictError(f"a user with email {email} already exists")
    session.add(user)
    session.flush()
    record(session, org_id=org_id, actor=actor, action="user.created", resource_type="user",
           resource_id=user.id, after=snapshot(user))
    return user


def update_user(session: Session, user: User, actor: Actor, caller_role: str | None,
                changes: dict[str, Any]) -> User:
    """Name, role, active flag or password; deactivation revokes the person's keys."""
    _owner_guard(caller_role, user.role, changes.get("role"))
    demoting = (changes.get("role") not in (None, Role.OWNER)) or changes.get("is_active") is False
    if demoting:
        _keep_an_owner(session, user)
    before = snapshot(user)
    password = changes.pop("password", None)
    for field, value in changes.items():
        setattr(user, field, value)
    if password:
        user.password_hash = hash_password(password)
    if changes.get("is_active") is False:
        revoke_keys_of(session, user.id, "creator deactivated",
                       _auditor(session, user.org_id, actor))
    session.flush()
    after = snapshot(user)
    if password:
        after["password_changed_at"] = dt.datetime.now(dt.UTC).isoformat()
    record(session, org_id=user.org_id, actor=actor, action="user.updated",
           resource_type="user", resource_id=user.id, before=before, after=after)
    return user


def delete_user(session: Session, user: User, actor: Actor, caller_role: str | None) -> None:
    """Remove a person (their past actions stay in the audit log; their keys are revoked)."""
    _owner_guard(caller_role, user.role)
    _keep_an_owner(session, user)
    revoke_keys_of(session, user.id, "creator deleted", _auditor(session, user.org_id, actor))
    before = snapshot(user)
    session.delete(user)
    session.flush()
    record(session, org_id=user.org_id, actor=actor, action="user.deleted",
           resource_type="user", resource_id=before.get("id"), before=before)


def set_password(session: Session, user: User, actor: Actor, new_password: str) -> None:
    """A person's own new password (the caller checked the current one)."""
    user.password_hash = hash_password(new_password)
    session.flush()
    record(session, org_id=user.org_id, actor=actor, action="user.password_changed",
           resource_type="user", resource_id=user.id)


def record_login(session: Session, user: User, actor: Actor, password: str,
                 needs_rehash: bool) -> None:
    """A successful sign-in: last login time, a stronger hash when due, the audit entry."""
    user.last_login_at = dt.datetime.now(dt.UTC)
    if needs_rehash:
        user.password_hash = hash_password(password)
    record(session, org_id=user.org_id, actor=actor, action="auth.login",
           resource_type="user", resource_id=user.id)
