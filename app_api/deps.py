"""Injected infrastructure: settings, metadata sessions, the warehouse, and the caller.

Every protected route declares its one permission through ``authorize`` (via the
``Perm*`` aliases below); ``authorize`` authenticates, rate-limits, checks the
permission and hands back a :class:`Context` whose ``db`` is a tenant-scoped session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPBearer, SecurityScopes
from sqlalchemy.orm import Session, sessionmaker

from app_api.auth.principal import Principal, resolve
from app_api.auth.sessions import SESSION_COOKIE
from app_api.auth.throttle import LoginThrottle
from app_api.errors import APIError, not_found
from app_api.ratelimit import make_counter, retry_after
from app_api.scoped_warehouse import ScopedWarehouse
from app_api.tenancy import TenantSession
from kernel import permissions as P
from kernel.metadata.audit import Actor, hash_ip, record, snapshot
from kernel.metadata.base import Base
from kernel.metadata.enums import ActorType
from kernel.settings import Settings
from kernel.warehouse import Warehouse, open_warehouse
from publishing.page_cache import LandingCache

M = TypeVar("M", bound=Base)


class State:
    """Per-process resources, built once by the app factory."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.counter = make_counter(settings.redis_url)
        self.login_throttle = LoginThrottle(self.counter, settings.api_login_max_failures,
                                            settings.api_login_window_s,
                                            settings.api_login_max_failures_per_ip)
        self.key_touched: dict[str, float] = {}
        self.wake_webhooks: Callable[[], None] = lambda: None
        self.pages = LandingCache(sessions)  # landing-page snapshots (publishing)
        self._warehouse: Warehouse | None = None
        self._lock = threading.Lock()

    def warehouse(self) -> Warehouse:
        with self._lock:
            if self._warehouse is None:
                self._warehouse = open_warehouse(self.settings)
            return self._warehouse


async def get_state(request: Request) -> State:  # async: no thread hop for a lookup
    state: State = request.app.state.lodestone
    return state


StateDep = Annotated[State, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


@dataclass
class Context:
    """The authorized caller plus a session that only sees the caller's organization."""

    principal: Principal
    db: TenantSession
    _state: State = field(repr=False)
    request: Request
    ip_hash: str | None = None
    _actor: Actor | None = field(default=None, repr=False)

    @property
    def org_id(self) -> str:
        return self.principal.org_id

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor = Actor(self.principal.actor, ActorType(self.principal.actor_type),
                                self.ip_hash)
        return self._actor

    def warehouse(self) -> ScopedWarehouse:
        """The warehouse, every source and model pre-filtered to the caller's organization."""
        return ScopedWarehouse(self._state.warehouse(), self.org_id)

    @property
    def settings(self) -> Settings:
        return self._state.settings

    def wake_webhooks(self) -> None:
        """Start delivering newly queued webhook events now (the worker also polls)."""
        self._state.wake_webhooks()

    @contextmanager
    def tenant_session(self) -> Iterator[TenantSession]:
        """A new metadata session scoped to the caller's organization, e.g. for a
        streaming response that outlives the request's own session."""
        with self._state.sessions() as session:
            yield TenantSession(session, self.org_id)

    def has(self, permission: str) -> bool:
        return permission in self.principal.scopes

    def audit(self, action: str, resource_type: str, resource_id: str | None,
              before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        """Record an audit entry in the current transaction (committed with the change)."""
        record(self.db.session, org_id=self.org_id, actor=self.actor, action=action,
               resource_type=resource_type, resource_id=resource_id, before=before, after=after)

    def get(self, model: type[M], id_: str, kind: str) -> M:
        """The caller's ``model`` row with id ``id_``, or 404 naming ``kind``."""
        row = self.db.get(model, id_)
        if row is None:
            raise not_found(kind, id_)
        return row

    def create(self, row: M, resource_type: str) -> M:
        """Add ``row`` to the caller's organization, audit ``<resource_type>.created`` and
        commit, in one transaction."""
        self.db.add(row)
        self.db.flush()
        self.audit(f"{resource_type}.created", resource_type, cast(Any, row).id, None,
                   snapshot(row))
        self.db.commit()
        return row

    def update(self, row: Any, resource_type: str, changes: dict[str, Any],
               action: str = "updated") -> None:
        """Set ``changes`` on ``row``, audit ``<resource_type>.<action>`` with the states
        before and after, and commit, in one transaction."""
        before = snapshot(row)
        for name, value in changes.items():
            setattr(row, name, value)
        self.db.flush()
        self.audit(f"{resource_type}.{action}", resource_type, row.id, before, snapshot(row))
        self.db.commit()

    def delete(self, row: Any, resource_type: str, before: dict[str, Any] | None = None) -> None:
        """Delete ``row``, audit ``<resource_type>.deleted`` with ``before`` (default: the
        row's last state) and commit, in one transaction."""
        resource_id = row.id
        before = snapshot(row) if before is None else before
        self.db.delete(row)
        self.db.flush()
        self.audit(f"{resource_type}.deleted", resource_type, resource_id, before, None)
        self.db.commit()


# Declared only so OpenAPI shows how to authenticate; ``resolve`` reads the headers itself.
_bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                     description="An API key (ls_live_…) or a token from POST /v1/auth/token.")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session_cookie",
                       description="Set by POST /v1/auth/login; unsafe methods need X-CSRF-Token.")


def authorize(
    security_scopes: SecurityScopes,
    request: Request,
    state: StateDep,
    _b: Annotated[Any, Depends(_bearer)] = None,
    _c: Annotated[Any, Depends(_cookie)] = None,
) -> Iterator[Context]:
    """THE permission check: authenticate, rate-limit, require the route's permission.

    Yields a Context whose session is scoped to the caller's organization and is closed
    (rolled back if uncommitted) after the route. One generator, so the whole check costs
    one worker-thread hop.
    """
    with state.sessions() as session:
        principal = resolve(request, session, state.settings.secret_key, state.key_touched)
        limit = state.settings.api_rate_limit_per_minute
        if limit:
            count, remaining = state.counter.incr(f"req:{principal.actor}", 60)
            if count > limit:
                raise APIError(429, "rate_limited",
                               f"more than {limit} requests a minute with this credential; "
                               "slow down", headers={"Retry-After": retry_after(remaining)})
        missing = [s for s in security_scopes.scopes if s not in principal.scopes]
        if missing:
            who = f"role {principal.role!r}" if principal.role else "this API key" + (
                f" (limited by its creator's current role {principal.limited_by!r})"
                if principal.limited_by else "")
            raise APIError(403, "forbidden",
                           f"{who} lacks the {missing[0]} permission; ask an owner or admin",
                           details=[{"missing_permission": m} for m in missing])
        request.state.principal = principal
        yield Context(principal, TenantSession(session, principal.org_id), state, request,
                      hash_ip(client_ip(request), state.settings.secret_key))


Authenticated = Annotated[Context, Security(authorize, scopes=[])]
PermRead = Annotated[Context, Security(authorize, scopes=[P.LEAD_MAGNETS_READ])]
PermWrite = Annotated[Context, Security(authorize, scopes=[P.LEAD_MAGNETS_WRITE])]
PermApprove = Annotated[Context, Security(authorize, scopes=[P.LEAD_MAGNETS_APPROVE])]
PermTeam = Annotated[Context, Security(authorize, scopes=[P.TEAM_MANAGE])]
PermAnalytics = Annotated[Context, Security(authorize, scopes=[P.ANALYTICS_VIEW])]
PermExport = Annotated[Context, Security(authorize, scopes=[P.DATA_EXPORT])]
PermPromote = Annotated[Context, Security(authorize, scopes=[P.EXPERIMENTS_PROMOTE])]
PermEvents = Annotated[Context, Security(authorize, scopes=[P.EVENTS_WRITE])]


def route_permission(route: Any) -> tuple[bool, str | None]:
    """(uses authorize, the permission it requires) for a FastAPI route."""
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    while stack:
        dep = stack.pop()
        if dep.call is authorize:
            scopes = list(dep.own_oauth_scopes or [])
            return True, scopes[0] if scopes else None
        stack.extend(dep.dependencies)
    return False, None
