"""Checking a person's password: throttled per account and IP, bounded hashing.

Order matters (cheapest refusal first): the client IP's failures, then the candidate
accounts (an email in several organizations needs the organization's slug, so one
request never verifies more than one hash), then their failures, then one argon2 verify
under :data:`app_api.auth.hashgate.GATE`. Unknown emails verify a dummy hash too, so
their answer takes as long as a wrong password's.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app_api.auth.hashgate import GATE
from app_api.auth.passwords import verify_password
from app_api.auth.throttle import LoginThrottle
from app_api.errors import APIError
from kernel.crypto import account_email_indexes
from kernel.metadata.models import Organization, User


def check_login(session: Session, throttle: LoginThrottle, ip: str, email: str,
                password: str, organization: str | None) -> tuple[User, Organization]:
    """The user and organization ``email``/``password`` sign in to, or an APIError
    (401 wrong, 400 organization_required, 429 throttled, 503 busy)."""
    throttle.check_ip(ip)
    indexes = account_email_indexes(session, email)
    # One indexed query across organizations: the account index is keyed by the master
    # key, not the organization (kernel.crypto.Keyring.account_index).
    stmt = (sa.select(User, Organization).join(Organization, Organization.id == User.org_id)
            .where(User.email_index.in_(indexes),
                   User.is_active.is_(True)))
    if organization:
        stmt = stmt.where(Organization.slug == organization)
    candidates = session.execute(stmt.limit(20)).all()
    if len(candidates) > 1:
        raise APIError(400, "organization_required",
                       "this email belongs to several organizations; add "
                       '"organization": "<slug>" to the request')
    # An unknown email's counter is keyed by its account index (an HMAC under a key derived
    # from the master key), so neither memory nor Redis holds the address or a plain hash.
    accounts = [candidates[0][0].id] if candidates else [f"email:{indexes[0]}"]
    throttle.check_accounts(accounts)
    # An unknown email verifies a dummy hash: same cost as a real check, no enumeration.
    stored = candidates[0][0].password_hash if candidates else None
    ok = GATE.run(verify_password, stored, password) and bool(candidates)
    if not ok:
        throttle.failed(ip, accounts)
        raise APIError(401, "invalid_credentials", "email or password is wrong")
    user, org = candidates[0]
    throttle.succeeded(user.id)
    return user, org


def check_current_password(throttle: LoginThrottle, ip: str, user: User, password: str) -> None:
    """``POST /v1/me/password``'s check of the current password, with the login's limits."""
    throttle.check_ip(ip)
    throttle.check_accounts([user.id])
    ok = GATE.run(verify_password, user.password_hash, password)
    if not ok:
        throttle.failed(ip, [user.id])
        raise APIError(403, "invalid_credentials", "current_password is wrong")
    throttle.succeeded(user.id)
