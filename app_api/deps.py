"""Injected infrastructure: settings, metadata sessions, the warehouse, the caller."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from app_api.errors import APIError
from ingestion.registry import Registry
from kernel.settings import Settings
from kernel.warehouse import Warehouse, open_warehouse
from kernel.warehouse.scoped import ScopedWarehouse


class State:
    """Per-process resources, built once by the app factory."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.registry = Registry(sessions)
        self._warehouse: Warehouse | None = None
        self._lock = threading.Lock()

    def warehouse(self) -> Warehouse:
        with self._lock:
            if self._warehouse is None:
                self._warehouse = open_warehouse(self.settings)
            return self._warehouse


def get_state(request: Request) -> State:
    state: State = request.app.state.lodestone
    return state


StateDep = Annotated[State, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True)
class Principal:
    """Who is calling, for which organization, with which scopes."""

    org_id: str
    actor: str
    actor_type: str
    scopes: frozenset[str]


def get_principal(request: Request, state: StateDep) -> Principal:
    auth = request.headers.get("authorization", "")
    token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
    token = token or request.headers.get("x-api-key", "")
    if not token:
        raise APIError(401, "unauthorized", "send an API key as 'Authorization: Bearer <key>'")
    key = state.registry.api_key(token)
    if key is None:
        raise APIError(401, "unauthorized", "unknown or revoked API key")
    return Principal(key.org_id, key.key_id, "api_key", frozenset(key.scopes))


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(scope: str):  # type: ignore[no-untyped-def]
    """Dependency factory: the caller must hold ``scope`` (an empty scope list means all)."""

    def _check(principal: PrincipalDep) -> Principal:
        if principal.scopes and scope not in principal.scopes:
            raise APIError(403, "forbidden", f"this credential lacks the {scope} permission")
        return principal

    return Depends(_check)


def scoped_warehouse(principal: PrincipalDep, state: StateDep) -> ScopedWarehouse:
    return ScopedWarehouse(state.warehouse(), principal.org_id)


ScopedWarehouseDep = Annotated[ScopedWarehouse, Depends(scoped_warehouse)]
