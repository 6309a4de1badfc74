"""The landing page in headless Chromium on a real uvicorn server: variant, axe-core,
a screenshot, the form submitted in place by its script, the mail, the one-click confirm
and the download."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from experiments.assignment import assign
from tests.helpers import serve_app
from tests.ingestion.support import CHROME
from tests.publishing.conftest import Inbox, publishing_settings, seed
from tests.publishing.pages import link, text_part

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


@pytest.fixture(scope="module")
def server(smtp: Inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    settings = publishing_settings(tmp_path_factory.mktemp("browser"), smtp.port)
    with serve_app(settings) as (base, app):
        yield base, app.state.lodestone.sessions


def test_landing_page_in_chromium(server: tuple[str, Any], smtp: Inbox) -> None:
    if not AXE.exists():
        pytest.skip("npm install axe-core (node_modules/axe-core) to run the axe check")
    base, sessions = server
    m = seed(sessions, "browser")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=[*FLAGS, f"--user-agent={CHROME}"])
        try:
            ctx = browser.new_context(viewport={"width": 390, "height": 844},
                                      bypass_csp=True, accept_downloads=True)
            page = ctx.new_page()
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" else None)
            page.goto(f"{base}{m.path}")
            vid = next(c["value"] for c in ctx.cookies() if c["name"] == "ls_vid")
            variant = page.get_attribute("article", "data-ls-variant")
            assert variant == assign(m.experiment, vid, ["A", "B"], [0.5, 0.5], 1.0)
            page.reload()
            assert page.get_attribute("article", "data-ls-variant") == variant

            page.add_script_tag(path=str(AXE))
            result = page.evaluate("async () => JSON.stringify(await axe.run(document))")
            violations = json.loads(result)["violations"]
            serious = [(v["id"], v["impact"], v["help"]) for v in violations
                       if v["impact"] in ("serious", "critical")]
            assert not serious, serious
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "landing-mobile.png"), full_page=True)

            page.fill("#ls-email", "chromium@example.com")
            page.fill("#ls-name", "Chris")
            page.check("input[name=consent_marketing_email]")
            page.click("button[type=submit]")
            page.wait_for_selector("#ls-done:has-text('Almost there')")
            assert page.url.endswith(m.path)  # submitted in place, no navigation
            page.screenshot(path=str(SHOTS / "landing-submitted.png"))

            (mail,) = smtp.wait_for("chromium@example.com")
            confirm = link(text_part(mail), "/c/")
            with page.expect_download() as dl:  # the confirm page starts the download
                page.goto(confirm)
                page.wait_for_selector("text=here is your download")
                page.screenshot(path=str(SHOTS / "confirmed.png"))
            assert dl.value.suggested_filename == "seo-checklist.txt"
            assert not [e for e in errors if "Content Security Policy" not in e], errors
        finally:
            browser.close()


def test_the_page_is_small_and_needs_no_blocking_script(server: tuple[str, Any]) -> None:
    import gzip

    import httpx
    base, sessions = server
    m = seed(sessions, "size")
    r = httpx.get(f"{base}{m.path}", headers={"User-Agent": CHROME})
    assert r.status_code == 200
    compressed = len(gzip.compress(r.content, 9))
    assert compressed <= 14 * 1024, compressed
    head = r.text.split("</head>")[0]
    assert "<script" not in head and "stylesheet" not in head  # nothing blocks rendering
    assert "Content-Security-Policy" in r.headers and "nonce-" in r.headers[
        "Content-Security-Policy"]
    assert r.headers["vary"] == "Cookie" and r.headers["cache-control"].startswith("private")
