"""The consent banner: shown in consent_required mode only; nothing stored in the browser
before a choice (events carry the cookieless id); accept keeps that id (same variant),
decline stores only the refusal; a forged choice is refused."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kernel.metadata.enums import ConsentMode
from publishing import tokens
from tests.publishing.conftest import Env, seed
from tests.publishing.pages import attr


def _consent_token(page: str) -> str:
    start = page.index('id="ls-consent"')
    return attr(page[start:], "value")


def test_banner_asks_first_and_stores_nothing_before_the_choice(env: Env) -> None:
    m = seed(env.sessions, "consent", consent_mode=ConsentMode.CONSENT_REQUIRED)
    with TestClient(env.client.app, base_url="http://testserver") as c:
        r = c.get(m.path)
        assert r.status_code == 200
        assert 'id="ls-consent"' in r.text and 'class="asking"' in r.text
        assert "set-cookie" not in r.headers  # nothing stored before the choice
        secret = env.settings.secret_key
        token = _consent_token(r.text)
        visitor = tokens.verify(secret, "consent", token)["v"]
        assert visitor.startswith("c") and len(visitor) == 32  # the cookieless daily id
        variant = attr(r.text, "data-ls-variant")
        rows = env.events(f"magnet_id = '{m.id}' AND event = 'magnet_view'")
        assert rows and {row["visitor_id"] for row in rows} == {visitor}

        forged = c.post(f"{m.path}/consent", data={"token": token + "x", "choice": "accept"},
                        headers={"Accept": "application/json"})
        assert forged.status_code == 400 and "set-cookie" not in forged.headers
        odd = c.post(f"{m.path}/consent", data={"token": token, "choice": "maybe"},
                     headers={"Accept": "application/json"})
        assert odd.status_code == 400

        ok = c.post(f"{m.path}/consent", data={"token": token, "choice": "accept"},
                    headers={"Accept": "application/json"})
        assert ok.status_code == 200 and ok.json() == {"consent": "granted"}
        assert c.cookies.get("ls_consent") == "granted" and c.cookies.get("ls_vid") == visitor
        again = c.get(m.path)
        assert 'id="ls-consent"' not in again.text
        assert attr(again.text, "data-ls-variant") == variant  # same id, same arm

    with TestClient(env.client.app, base_url="http://testserver") as c:
        page = c.get(m.path).text
        no = c.post(f"{m.path}/consent", data={"token": _consent_token(page),
                                               "choice": "decline"}, follow_redirects=False)
        assert no.status_code == 303 and no.headers["location"] == m.path
        assert c.cookies.get("ls_consent") == "denied" and "ls_vid" not in c.cookies
        after = c.get(m.path)
        assert 'id="ls-consent"' not in after.text
        assert "ls_vid" not in after.headers.get("set-cookie", "")


def test_no_banner_when_the_mode_needs_no_consent(env: Env) -> None:
    for mode in (ConsentMode.COOKIELESS, ConsentMode.FIRST_PARTY):
        m = seed(env.sessions, f"mode-{mode.value[:5]}", consent_mode=mode)
        with TestClient(env.client.app, base_url="http://testserver") as c:
            page = c.get(m.path).text
        assert 'id="ls-consent"' not in page and 'class="asking"' not in page
