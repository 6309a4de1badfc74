"""People in the organization and their roles (owner, admin, editor, viewer)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import Field

from app_api.auth.key_rights import revoke_keys_of
from app_api.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hash_password
from app_api.deps import Context, PermTeam
from app_api.errors import APIError, conflict
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import Email, In, Label, Page, PathId, UserOut
from kernel.metadata.audit import snapshot
from kernel.metadata.enums import Role
from kernel.metadata.models import User

router = APIRouter(prefix="/v1/users", tags=["users"])

PasswordField = Field(None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class UserIn(In):
    email: Email
    name: Label = ""
    role: Role = Role.VIEWER
    password: str | None = PasswordField


class UserPatch(In):
    name: Label | None = None
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = PasswordField


def _get(ctx: Context, user_id: str) -> User:
    return ctx.get(User, user_id, "user")


def _owner_guard(ctx: Context, *roles: Role | None) -> None:
    """Only an owner may create, change or remove owners, or hand out the owner role."""
    if Role.OWNER in roles and ctx.principal.role != Role.OWNER.value:
        raise APIError(403, "forbidden", "only an owner can grant, change or remove the owner role")


def _active_owners(ctx: Context) -> int:
    stmt = ctx.db.select(User).where(User.role == Role.OWNER, User.is_active.is_(True))
    return len(ctx.db.scalars(stmt).all())


@router.get("", response_model=Page[UserOut])
def list_users(ctx: PermTeam, role: Role | None = None, is_active: bool | None = None,
               email: Annotated[Email | None, Query()] = None,
               cursor: str | None = CursorQuery, limit: int = LimitQuery) -> dict[str, object]:
    """Users of your organization, newest first; filter by role, is_active or email."""
    stmt = ctx.db.select(User)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if is_active is not None:
        stmt = stmt.where(User.is_active.is_(is_active))
    if email:
        stmt = stmt.where(User.email == email)
    rows, nxt = paginate(ctx.db, stmt, User, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserIn, ctx: PermTeam) -> User:
    """Add a person; without a password they cannot sign in until one is set."""
    _owner_guard(ctx, body.role)
    if ctx.db.scalar(ctx.db.select(User).where(User.email == body.email)) is not None:
        raise conflict(f"a user with email {body.email} already exists")
    user = ctx.db.add(User(email=body.email, name=body.name, role=body.role,
                           password_hash=hash_password(body.password) if body.password else None))
    ctx.db.flush()
    ctx.audit("user.created", "user", user.id, None, snapshot(user))
    ctx.db.commit()
    return user


@router.get("/{user_id}", response_model=UserOut)
def get_user(user_id: PathId, ctx: PermTeam) -> User:
    """One user."""
    return _get(ctx, user_id)


@router.patch("/{user_id}", response_model=UserOut)
def update_user(user_id: PathId, body: UserPatch, ctx: PermTeam) -> User:
    """Change a user's name, role, active flag or password."""
    user = _get(ctx, user_id)
    _owner_guard(ctx, user.role, body.role)
    demoting = user.role == Role.OWNER and (
        (body.role is not None and body.role != Role.OWNER) or body.is_active is False)
    if demoting and user.is_active and _active_owners(ctx) <= 1:
        raise conflict("this is the last active owner; make someone else owner first")
    before = snapshot(user)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    password = changes.pop("password", None)
    for field, value in changes.items():
        setattr(user, field, value)
    if password:
        user.password_hash = hash_password(password)
    if changes.get("is_active") is False:
        revoke_keys_of(ctx.db.session, user.id, "creator deactivated", ctx.audit)
    ctx.db.flush()
    after = snapshot(user)
    if password:
        after["password_changed_at"] = dt.datetime.now(dt.UTC).isoformat()
    ctx.audit("user.updated", "user", user.id, before, after)
    ctx.db.commit()
    return user


@router.delete("/{user_id}", status_code=204)
def delete_user(user_id: PathId, ctx: PermTeam) -> Response:
    """Remove a user (their past actions stay in the audit log)."""
    user = _get(ctx, user_id)
    _owner_guard(ctx, user.role)
    if user.role == Role.OWNER and user.is_active and _active_owners(ctx) <= 1:
        raise conflict("this is the last active owner; make someone else owner first")
    revoke_keys_of(ctx.db.session, user.id, "creator deleted", ctx.audit)
    ctx.delete(user, "user")
    return Response(status_code=204)

