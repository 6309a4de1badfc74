"""/docs and /redoc work offline: every asset is served by the API itself."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin, urlparse

import httpx
from playwright.sync_api import Route, sync_playwright

from kernel.settings import Settings
from lodestone.services import init_storage
from tests.helpers import running_server

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
URL = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|(?:url|spec-url)\s*:\s*['"]([^'"]+)['"]""")


def _asset_urls(html: str) -> list[str]:
    return [a or b for a, b in URL.findall(html)]


def test_docs_pages_load_only_local_assets(settings: Settings, tmp_path: Path) -> None:
    init_storage(settings)
    with running_server(settings) as (base, _):
        for page in ("/docs", "/redoc"):
            html = httpx.get(base + page, timeout=30)
            assert html.status_code == 200
            urls = _asset_urls(html.text)
            assert any(u.endswith(".js") for u in urls), urls
            assert "/openapi.json" in urls, urls
            for url in urls:
                assert url.startswith("/") and not url.startswith("//"), f"{page}: {url}"
                assert httpx.get(urljoin(base, url), timeout=30).status_code == 200, url
            assert "fonts.googleapis" not in html.text and "cdn." not in html.text
            assert "default-src 'self'" in html.headers["content-security-policy"]

        host = urlparse(base).netloc
        outside: list[str] = []

        def offline(route: Route) -> None:  # the machine has no internet: refuse the rest
            if urlparse(route.request.url).netloc == host:
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=FLAGS)
            page = browser.new_page()
            page.route("**/*", offline)
            page.goto(f"{base}/docs")
            page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
            assert "Lodestone API" in page.inner_text(".swagger-ui .info .title")
            assert page.locator(".opblock").count() > 20  # the operations are listed
            page.screenshot(path=str(tmp_path / "docs.png"))
            page.goto(f"{base}/redoc")
            page.wait_for_selector("h1", timeout=30_000)
            assert "Lodestone API" in page.inner_text("h1")
            page.screenshot(path=str(tmp_path / "redoc.png"))
            browser.close()
        assert outside == []
