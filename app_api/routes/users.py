"""People in the organization and their roles (owner, admin, editor, viewer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import Field

from app_api.auth import accounts
from app_api.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app_api.deps import Context, PermTeam
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import Email, In, Label, Page, PathId, UserOut
from kernel.crypto import account_email_indexes
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
        stmt = stmt.where(User.email_index.in_(account_email_indexes(ctx.db.session, email)))
    rows, nxt = paginate(ctx.db, stmt, User, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserIn, ctx: PermTeam) -> User:
    """Add a person; without a password they cannot sign in until one is set."""
    user = accounts.create_user(ctx.db.session, ctx.org_id, ctx.actor, ctx.principal.role,
                                email=body.email, name=body.name, role=body.role,
                                password=body.password)
    ctx.db.commit()
    return user


@router.get("/{user_id}", response_model=UserOut)
def get_user(user_id: PathId, ctx: PermTeam) -> User:
    """One user."""
    return _get(ctx, user_id)


@router.patch("/{user_id}", response_model=UserOut)
def update_user(user_id: PathId, body: UserPatch, ctx: PermTeam) -> User:
    """Change a user's name, role, active flag or password."""
    user = accounts.update_user(ctx.db.session, _get(ctx, user_id), ctx.actor,
                                ctx.principal.role,
                                body.model_dump(exclude_unset=True, exclude_none=True))
    ctx.db.commit()
    return user


@router.delete("/{user_id}", status_code=204)
def delete_user(user_id: PathId, ctx: PermTeam) -> Response:
    """Remove a user (their past actions stay in the audit log)."""
    accounts.delete_user(ctx.db.session, _get(ctx, user_id), ctx.actor, ctx.principal.role)
    ctx.db.commit()
    return Response(status_code=204)
