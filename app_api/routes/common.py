"""Response models used by several routers, and small helpers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app_api.schemas import Out
from kernel.metadata.enums import ConsentMode, Role


class OrganizationOut(Out):
    id: str
    name: str
    slug: str
    consent_mode: ConsentMode
    settings: dict[str, Any]
    created_at: dt.datetime


class UserOut(Out):
    id: str
    org_id: str
    email: str
    name: str
    role: Role
    is_active: bool
    last_login_at: dt.datetime | None
    created_at: dt.datetime
