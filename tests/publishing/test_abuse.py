"""Bad input and abuse: each gets a clear 4xx, nothing accepted is lost, no tenant leaks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app_api.main import create_app
from kernel.errors import DomainError
from kernel.metadata.enums import MagnetStatus
from kernel.metadata.models import Lead, LeadMagnet, MailMessage
from publishing import tokens
from publishing.optin import BotSuspectedError, check_submission
from tests.publishing.conftest import Env, Inbox, count, publishing_settings, seed
from tests.publishing.pages import form_token, post, visit


def leads_of(env: Env, org_id: str) -> int:
    return count(env.sessions, sa.select(Lead).where(Lead.org_id == org_id).subquery())


@pytest.mark.parametrize(("fields", "status", "says"), [
    ({"email": "not-an-address"}, 422, "not a valid email address"),
    ({"email": "a@example.com", "name": "x" * 10_000}, 422, "the limit is 1000"),
    ({"email": "a@example.com", "field_company": "y" * 10_000}, 422, "too long"),
    ({"email": "a@example.com", "is_admin": "1"}, 422, "no such field"),
    ({"email": "a@example.com", "name": "Eve\r\nBcc: victim@example.com"}, 422,
     "line breaks"),
    ({"email": "a@example.com", "website": "http://spam.example"}, 400, "hidden field"),
    ({"email": ""}, 422, "enter your email address"),
])
def test_bad_form_input_is_refused_with_a_message(env: Env, fields: dict[str, str],
                                                  status: int, says: str) -> None:
    m = seed(env.sessions, "bad", experiment=False)
    c = env.client
    c.cookies.clear()
    page, _, _ = visit(c, m.path)
    r = post(c, m.path, form_token(page), **fields)
    assert r.status_code == status and says in r.text, r.text[:400]
    assert "<h1>" in r.text  # a page for a person, not a stack trace
    r = post(c, m.path, form_token(page), json=True, **fields)
    assert r.status_code == status and says in r.json()["error"]["message"]
    assert leads_of(env, m.org_id) == 0
    assert count(env.sessions, sa.select(MailMessage).where(
        MailMessage.org_id == m.org_id).subquery()) == 0


def test_a_refused_form_is_shown_again_with_the_values(env: Env) -> None:
    m = seed(env.sessions, "again", experiment=False)
    c = env.client
    c.cookies.clear()
    page, _, _ = visit(c, m.path)
    r = post(c, m.path, form_token(page), email="nope", name="<b>Ada</b>")
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert 'value="&lt;b&gt;Ada&lt;/b&gt;"' in r.text  # escaped, never markup
    assert 'name="token"' in r.text


def test_tampered_expired_and_foreign_tokens(env: Env) -> None:
    a = seed(env.sessions, "orga", experiment=False)
    b = seed(env.sessions, "orgb", experiment=False)
    c = env.client
    c.cookies.clear()
    page, _, _ = visit(c, a.path)
    token = form_token(page)
    body, mac = token.split(".")
    tampered = f"{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{mac}"
    for bad in (tampered, "", "garbage", token + "x"):
        r = post(c, a.path, bad, email="x@example.com")
        assert r.status_code == 400 and "link or form" in r.text
    expired = tokens.sign(env.settings.secret_key, "form", {"m": a.id, "v": "v", "t": 1.0},
                          60, now=time.time() - 3600)
    r = post(c, a.path, expired, email="x@example.com")
    assert r.status_code == 400 and "expired" in r.text
    # org A's form posted to org B's page (same magnet slug): refused
    r = post(c, b.path, token, email="x@example.com")
    assert r.status_code == 400 and "another page" in r.text
    assert leads_of(env, a.org_id) == leads_of(env, b.org_id) == 0

    r = post(c, a.path, token, email="ada@example.com", json=True)
    assert r.status_code == 200
    with env.sessions() as s:
        lead = s.scalars(sa.select(Lead).where(Lead.org_id == a.org_id)).one()
    secret = env.settings.secret_key
    foreign = tokens.sign(secret, "confirm", {"o": b.org_id, "l": lead.id}, 600)
    assert c.get(f"/c/{foreign}").status_code == 404  # A's lead is not in B
    as_download = tokens.sign(secret, "download", {"o": a.org_id, "l": lead.id}, 600)
    assert c.get(f"/c/{as_download}").status_code == 400  # a download token cannot confirm
    stale = tokens.sign(secret, "confirm", {"o": a.org_id, "l": lead.id}, 60,
                        now=time.time() - 3600)
    r = c.get(f"/c/{stale}")
    assert r.status_code == 410 and "expired" in r.text
    stale_dl = tokens.sign(secret, "download", {"o": a.org_id, "l": lead.id}, 60,
                           now=time.time() - 3600)
    assert c.get(f"/d/{stale_dl}").status_code == 410
    with env.sessions() as s:
        assert s.get(Lead, lead.id).confirmed_at is None  # type: ignore[union-attr]


def test_too_fast_is_refused() -> None:
    magnet = LeadMagnet(id="mag_1", org_id="org_1", name="M", slug="m")
    now = 1_000_000.0
    token = tokens.sign("s" * 32, "form", {"m": "mag_1", "v": "v", "t": now}, 600, now=now)
    with pytest.raises(BotSuspectedError, match="faster than a person"):
        check_submission("s" * 32, magnet, {"token": token}, 2.0, now=now + 0.5)
    assert check_submission("s" * 32, magnet, {"token": token}, 2.0, now=now + 2.5)["v"] == "v"
    assert issubclass(BotSuspectedError, DomainError)


def test_pages_for_unknown_archived_and_promoted_magnets(env: Env) -> None:
    c = env.client
    c.cookies.clear()
    assert c.get("/m/no-such-org/x").status_code == 404
    m = seed(env.sessions, "arch", experiment=False)
    assert c.get(f"/m/{m.org_slug}/no-such-magnet").status_code == 404
    with env.sessions() as s:
        s.get(LeadMagnet, m.id).status = MagnetStatus.ARCHIVED  # type: ignore[union-attr]
        s.commit()
    r = c.get(m.path)
    assert r.status_code == 410 and "This offer has ended" in r.text
    draft = seed(env.sessions, "draft", status=MagnetStatus.DRAFT)
    assert c.get(draft.path).status_code == 404
    won = seed(env.sessions, "won", promoted_winner="B")
    for _ in range(6):  # every new visitor gets the winner, no exposure
        c.cookies.clear()
        page, vid, variant = visit(c, won.path)
        assert variant == "B" and "Is your page ready for Google?" in page
        assert not any(k.startswith("ls_x_") for k in c.cookies)
    rows = env.events(f"org_id = '{won.org_id}'", count=6)
    assert {r["event"] for r in rows} == {"magnet_view"}


def test_a_flood_from_one_ip_is_limited_and_nothing_accepted_is_lost(
        smtp: Inbox, tmp_path: Path) -> None:
    settings = publishing_settings(tmp_path / "data", smtp.port, optin_per_minute=10,
                                   mail_worker=False)
    from kernel.metadata.db import make_engine, migrate
    engine = make_engine(settings.resolved_metadata_url)
    migrate(engine)
    engine.dispose()
    with TestClient(create_app(settings, with_collector=False)) as c:
        sessions = c.app.state.lodestone.sessions  # type: ignore[attr-defined]
        m = seed(sessions, "flood", experiment=False)
        page = c.get(m.path).text
        token = form_token(page)
        started = time.monotonic()
        codes = [post(c, m.path, token, email=f"p{i}@example.com").status_code
                 for i in range(100)]
        assert time.monotonic() - started < 10
        assert codes[:10] == [303] * 10 and set(codes[10:]) == {429}
        r = post(c, m.path, token, email="late@example.com")
        assert r.status_code == 429 and "try again in" in r.text
        assert int(r.headers["retry-after"]) >= 1
        with sessions() as s:
            emails = {lead.email for lead in s.scalars(sa.select(Lead).where(
                Lead.org_id == m.org_id))}
        assert emails == {f"p{i}@example.com" for i in range(10)}
