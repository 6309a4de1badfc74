"""Sign-in for people: session cookie (browser) or short-lived bearer token (dashboards)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from app_api.auth import accounts, sessions
from app_api.auth.hashgate import HashSlot
from app_api.auth.login import check_current_password, check_login
from app_api.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    needs_rehash,
)
from app_api.deps import Authenticated, SessionDep, State, StateDep, client_ip
from app_api.errors import APIError
from app_api.schemas import Email, In, OrganizationOut, Slug, UserOut
from kernel.metadata.audit import Actor, hash_ip
from kernel.metadata.enums import ActorType
from kernel.metadata.models import Organization, User
from kernel.settings import Environment

router = APIRouter(prefix="/v1", tags=["auth"])

Password = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
NewPassword = Annotated[str, StringConstraints(min_length=MIN_PASSWORD_LENGTH,
                                               max_length=MAX_PASSWORD_LENGTH)]


class LoginIn(In):
    email: Email
    password: Password
    organization: Slug | None = Field(
        None, description="Organization slug; needed only if the email is in several.")


class LoginOut(BaseModel):
    user: UserOut
    organization: OrganizationOut
    expires_at: dt.datetime
    csrf_token: str = Field(description="Send as X-CSRF-Token on POST/PATCH/PUT/DELETE.")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime
    expires_in: int


class MeOut(BaseModel):
    actor_type: str
    actor_id: str
    org_id: str
    role: str | None
    permissions: list[str]
    user: UserOut | None
    organization: OrganizationOut


class PasswordIn(In):
    current_password: Password
    new_password: NewPassword


def _authenticate(body: LoginIn, request: Request, state: State,
                  session: Session) -> tuple[User, Organization]:
    ip = client_ip(request)
    user, org = check_login(session, state.login_throttle, ip, body.email, body.password,
                            body.organization)
    accounts.record_login(session, user, Actor(user.id, ActorType.USER,
                                               hash_ip(ip, state.settings.secret_key)),
                          body.password, needs_rehash(user.password_hash or ""))
    session.commit()
    return user, org


@router.post("/auth/login", response_model=LoginOut)
def login(_slot: HashSlot, body: LoginIn, request: Request, response: Response,
          state: StateDep, session: SessionDep) -> LoginOut:
    """Sign in with email and password; sets an HttpOnly session cookie and a CSRF cookie."""
    user, org = _authenticate(body, request, state, session)
    ttl = state.settings.api_session_ttl_s
    token, claims = sessions.issue(state.settings.secret_key, user_id=user.id, org_id=org.id,
                                   password_hash=user.password_hash, kind="cookie", ttl_s=ttl,
                                   now=int(time.time()))
    secure = state.settings.env is not Environment.development
    response.set_cookie(sessions.SESSION_COOKIE, token, max_age=ttl, httponly=True,
                        samesite="lax", secure=secure, path="/")
    response.set_cookie(sessions.CSRF_COOKIE, claims.csrf, max_age=ttl, httponly=False,
                        samesite="lax", secure=secure, path="/")
    return LoginOut(user=UserOut.model_validate(user),
                    organization=OrganizationOut.model_validate(org),
                    expires_at=dt.datetime.fromtimestamp(claims.expires_at, dt.UTC),
                    csrf_token=claims.csrf)


@router.post("/auth/token", response_model=TokenOut)
def token(_slot: HashSlot, body: LoginIn, request: Request, state: StateDep,
          session: SessionDep) -> TokenOut:
    """Sign in with email and password; returns a short-lived bearer token (no cookie)."""
    user, org = _authenticate(body, request, state, session)
    ttl = state.settings.api_token_ttl_s
    value, claims = sessions.issue(state.settings.secret_key, user_id=user.id, org_id=org.id,
                                   password_hash=user.password_hash, kind="bearer", ttl_s=ttl,
                                   now=int(time.time()))
    return TokenOut(access_token=value, expires_in=ttl,
                    expires_at=dt.datetime.fromtimestamp(claims.expires_at, dt.UTC))


@router.post("/auth/logout", status_code=204)
def logout(response: Response) -> Response:
    """Sign out: clears the session and CSRF cookies."""
    response.status_code = 204
    response.delete_cookie(sessions.SESSION_COOKIE, path="/")
    response.delete_cookie(sessions.CSRF_COOKIE, path="/")
    return response


@router.get("/me", response_model=MeOut)
def me(ctx: Authenticated) -> MeOut:
    """The caller: user or API key, organization, role and permissions."""
    p = ctx.principal
    user = ctx.db.get(User, p.actor) if p.actor_type == ActorType.USER.value else None
    return MeOut(actor_type=p.actor_type, actor_id=p.actor, org_id=p.org_id, role=p.role,
                 permissions=sorted(p.scopes),
                 user=UserOut.model_validate(user) if user else None,
                 organization=OrganizationOut.model_validate(ctx.db.organization()))


@router.post("/me/password", status_code=204)
def change_password(_slot: HashSlot, body: PasswordIn, ctx: Authenticated, request: Request,
                    state: StateDep) -> Response:
    """Change your own password; every existing session of yours ends (sign in again)."""
    p = ctx.principal
    user = ctx.db.get(User, p.actor) if p.actor_type == ActorType.USER.value else None
    if user is None:
        raise APIError(400, "bad_request", "only people have passwords; API keys do not")
    check_current_password(state.login_throttle, client_ip(request), user, body.current_password)
    accounts.set_password(ctx.db.session, user, ctx.actor, body.new_password)
    ctx.db.commit()
    return Response(status_code=204)
