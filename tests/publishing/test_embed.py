"""The embed script on a page of another origin with a strict CSP, in headless Chromium:
SRI-checked script, inline form and popup, opt-in posted cross-origin, frequency cap."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from experiments.assignment import assign
from kernel.metadata.models import Site
from publishing.embed import snippets
from tests.helpers import free_port
from tests.ingestion.support import CHROME
from tests.publishing.conftest import Inbox, seed
from tests.publishing.test_browser import FLAGS, SHOTS, server  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")


class Host(BaseHTTPRequestHandler):
    pages: dict[str, tuple[str, str]] = {}

    def do_GET(self) -> None:  # noqa: N802
        body, csp = self.pages.get(self.path, ("not found", ""))
        self.send_response(200 if csp else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if csp:
            self.send_header("Content-Security-Policy", csp)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    port = free_port()
    srv = ThreadingHTTPServer(("127.0.0.1", port), Host)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{port}"
    finally:
        srv.shutdown()


def _allow(sessions: Any, magnet_org: str, origin: str) -> None:
    with sessions() as s:
        site = s.query(Site).filter(Site.org_id == magnet_org).one()
        site.allowed_origins = [origin]
        s.commit()


def test_inline_and_popup_on_another_origin(server: tuple[str, Any], host: str,  # noqa: F811
                                            smtp: Inbox) -> None:
    base, sessions = server
    m = seed(sessions, "embed")
    _allow(sessions, m.org_id, host)
    code = snippets(base, f"{base}{m.path}")
    js = httpx.get(code["script_url"])
    assert js.headers["access-control-allow-origin"] == "*"
    assert js.headers["x-integrity"] == code["integrity"]
    csp = (f"default-src 'none'; script-src {base}; connect-src {base}; "
           "style-src 'none'; img-src 'none'")
    Host.pages["/inline"] = (f"<!doctype html><html lang=en><title>Blog</title><main>"
                             f"<p>Article text</p>{code['inline']}</main></html>", csp)
    popup = code["popup"].replace('data-delay="5"', 'data-delay="0"')
    Host.pages["/popup"] = (f"<!doctype html><html lang=en><title>Blog</title>"
                            f"<main><p>Article</p>{popup}</main></html>", csp)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=[*FLAGS, f"--user-agent={CHROME}"])
        try:
            ctx = browser.new_context(viewport={"width": 390, "height": 844})
            page = ctx.new_page()
            violations: list[str] = []
            page.on("console", lambda msg: violations.append(msg.text)
                    if msg.type == "error" else None)
            page.goto(f"{host}/inline")
            page.wait_for_selector(".ls-embed form")
            vid = page.evaluate("localStorage.getItem('ls_vid')")
            variant = page.get_attribute(".ls-embed", "data-ls-variant")
            assert variant == assign(m.experiment, vid, ["A", "B"], [0.5, 0.5], 1.0)
            page.fill(".ls-embed input[name=email]", "embedded@example.com")
            page.click(".ls-embed button[type=submit]")
            page.wait_for_selector(".ls-embed [role=status]:has-text('Almost there')")
            page.screenshot(path=str(SHOTS / "embed-inline.png"))
            smtp.wait_for("embedded@example.com")
            assert not violations, violations  # no CSP or SRI refusal, no CORS error

            page.goto(f"{host}/popup")
            page.wait_for_selector(".ls-popup [role=dialog]")
            page.screenshot(path=str(SHOTS / "embed-popup.png"))
            page.click(".ls-popup button[aria-label=Close]")
            assert page.query_selector(".ls-popup") is None
            page.reload()  # capped: once a week per visitor
            page.wait_for_timeout(800)
            assert page.query_selector(".ls-popup") is None

            # a tampered script fails its integrity check and does nothing
            Host.pages["/tampered"] = (Host.pages["/inline"][0].replace(
                code["integrity"], "sha384-" + "A" * 64), csp)
            page.goto(f"{host}/tampered")
            page.wait_for_timeout(800)
            assert page.query_selector(".ls-embed") is None
        finally:
            browser.close()
    # a site that is not the magnet's own cannot read the form cross-origin
    r = httpx.get(f"{base}{m.path}/form.json?vid=abcdefgh12",
                  headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
