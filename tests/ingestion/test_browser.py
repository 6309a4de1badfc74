"""The snippet in headless Chromium, on pages of another origin, against the real collector."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from experiments.assignment import assign
from kernel.metadata.enums import ConsentMode
from kernel.metadata.models import Organization, Site
from lodestone.seed import seed_org
from tests.helpers import wait_for
from tests.ingestion.support import CHROME, Env

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
PAGE = """<!doctype html><html><head><script src="{src}" data-site="{site}" {extra}></script>
</head><body><div id="slot" data-ls-exp="{exp}"><h1 data-ls-variant="A">Grow your SaaS</h1>
<h1 data-ls-variant="B">Double your sign-ups</h1></div>
<form id="f" data-ls-magnet="{magnet}" action="/thanks"><input name="email"><button>Get it</button></form>
<a id="spa" href="#" onclick="history.pushState({{}}, '', '/spa/{marker}'); return false">next</a>
</body></html>"""


class Pages(BaseHTTPRequestHandler):
    """A site embedding the snippet; /slow/* is a collector whose config takes 3 s."""

    pages: dict[str, str] = {}
    beacons: list[bytes] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, body: bytes, ctype: str = "text/html") -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?")[0]
        if path == "/slow/c.json":
            time.sleep(3)
            return self._send(b'{"m":"cookieless","v":"cslow","x":[{"k":"slow-exp","g":"","v":["A","B"],'
                              b'"w":[1,1],"c":1}]}', "application/json")
        name = path.strip("/").split("/")[-1]
        self._send(self.pages.get(name, "<p>thanks</p>").encode())

    def do_POST(self) -> None:  # noqa: N802
        self.beacons.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self._send(b"")


@dataclass
class Site_:
    key: str
    org_id: str
    exp: str
    magnet: str


@pytest.fixture(scope="module")
def web(env: Env) -> Iterator[tuple[str, dict[str, Site_]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    sites: dict[str, Site_] = {}
    for mode in ConsentMode:
        org = seed_org(env.sessions, env.settings.data_path, slug=f"web-{mode.value}", name=mode.value)
        with env.sessions() as s:
            s.execute(sa.update(Organization).where(Organization.id == org.org_id).values(consent_mode=mode))
            site = Site(org_id=org.org_id, name="web", allowed_origins=[origin])
            s.add(site)
            s.commit()
            sites[mode.value] = Site_(site.site_key, org.org_id, org.magnets[0].experiment_key or
                                      f"web-{mode.value}-ebook-headline", org.magnets[0].magnet_id)
    for site in sites.values():  # the collector learns new sites within a second or two
        wait_for(lambda site=site: httpx.get(f"{env.base}/c.json", params={"site": site.key}).status_code == 200,
                 timeout=30, interval=0.3)
    yield origin, sites
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        # The UA flag, not only the context's: beacons sent while a page unloads escape the
        # context's override and would say "HeadlessChrome", which the collector drops as a bot.
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                              args=[*FLAGS, f"--user-agent={CHROME}"])
        yield b
        b.close()


def _page(env: Env, origin: str, site: Site_, marker: str, src: str = "", extra: str = "") -> str:
    Pages.pages[marker] = PAGE.format(src=src or f"{env.base}/s.js", site=site.key, exp=site.exp,
                                      magnet=site.magnet, marker=marker, extra=extra)
    return f"{origin}/landing/{marker}"


def _rows(env: Env, where: str, n: int) -> list[dict[str, Any]]:
    return wait_for(lambda: len(r := env.events(where)) >= n and r, timeout=20, interval=0.3) or []


def _shown(page: Any) -> str:
    page.wait_for_selector("#slot[data-ls-done]", timeout=10_000)
    kids = page.eval_on_selector_all("#slot [data-ls-variant]", "els => els.map(e => e.dataset.lsVariant)")
    assert len(kids) == 1 and page.is_visible("#slot")
    return str(kids[0])


def test_first_party_pageviews_spa_assignment_and_lead(env: Env, web: tuple, browser: Any) -> None:  # type: ignore[type-arg]
    origin, sites = web
    site, marker = sites["first_party"], uuid.uuid4().hex
    ctx = browser.new_context(user_agent=CHROME)
    page = ctx.new_page()
    url = _page(env, origin, site, marker) + "?utm_source=google&utm_medium=cpc"
    page.goto(url)
    variant = _shown(page)
    vid = page.evaluate("localStorage.getItem('ls_vid')")
    assert vid and variant == assign(site.exp, vid, ["A", "B"], [0.5, 0.5], 1.0)
    page.click("#spa")
    for _ in range(2):  # reloads keep the visitor, hence the variant; one exposure only
        page.goto(url)
        assert _shown(page) == variant
    page.fill("input[name=email]", "a@b.example")
    page.click("button")
    page.wait_for_url("**/thanks**")
    rows = _rows(env, f"visitor_id = '{vid}' AND event = 'lead'", 1)
    lead = rows[0]
    assert (lead["magnet_id"], lead["experiment_id"], lead["variant"]) == (site.magnet, site.exp, variant)
    views = _rows(env, f"visitor_id = '{vid}' AND event = 'pageview'", 4)
    landing = [r for r in views if r["url"] == url]
    assert len(landing) == 3 and landing[0]["channel"] == "paid" and landing[0]["utm_source"] == "google"
    spa = [r for r in views if r["url"].endswith(f"/spa/{marker}")]
    assert len(spa) == 1 and spa[0]["referrer"] == url  # the SPA step's referrer is the page before
    exposures = env.events(f"visitor_id = '{vid}' AND event = 'exposure'")
    assert len(exposures) == 1 and exposures[0]["variant"] == variant
    assert exposures[0]["experiment_id"] == site.exp and exposures[0]["browser"] == "Chrome"
    ctx.close()


def test_cookieless_stores_nothing_and_assigns_by_the_server_id(env: Env, web: tuple, browser: Any) -> None:  # type: ignore[type-arg]
    origin, sites = web
    site, marker = sites["cookieless"], uuid.uuid4().hex
    ctx = browser.new_context(user_agent=CHROME)
    page = ctx.new_page()
    page.goto(_page(env, origin, site, marker))
    variant = _shown(page)
    assert page.evaluate("Object.keys(localStorage).length") == 0
    page.evaluate("lodestone.flush(1)")
    row = _rows(env, f"org_id = '{site.org_id}' AND event = 'exposure' AND url LIKE '%{marker}%'", 1)[0]
    assert row["visitor_id"].startswith("c") and row["variant"] == variant
    assert variant == assign(site.exp, row["visitor_id"], ["A", "B"], [0.5, 0.5], 1.0)
    page.reload()
    assert _shown(page) == variant  # same IP and browser on the same day: same variant
    ctx.close()


def test_consent_required_stores_only_after_consent(env: Env, web: tuple, browser: Any) -> None:  # type: ignore[type-arg]
    origin, sites = web
    site, marker = sites["consent_required"], uuid.uuid4().hex
    ctx = browser.new_context(user_agent=CHROME)
    page = ctx.new_page()
    page.goto(_page(env, origin, site, marker))
    variant = _shown(page)
    assert page.evaluate("Object.keys(localStorage).length") == 0
    page.evaluate("lodestone.consent(true)")
    vid = page.evaluate("localStorage.getItem('ls_vid')")
    assert vid and vid.startswith("c")  # today's cookieless id is kept: same unit, same variant
    page.reload()
    assert _shown(page) == variant
    page.evaluate("lodestone.consent(false)")
    assert page.evaluate("localStorage.getItem('ls_vid')") is None
    ctx.close()


@pytest.mark.parametrize("signal", ["Navigator.prototype, 'doNotTrack', {get: () => '1'}",
                                    "Navigator.prototype, 'globalPrivacyControl', {get: () => true}"])
def test_dnt_and_gpc_send_nothing_and_show_control(env: Env, web: tuple, browser: Any, signal: str) -> None:  # type: ignore[type-arg]
    origin, sites = web
    site, marker = sites["first_party"], uuid.uuid4().hex
    ctx = browser.new_context(user_agent=CHROME)
    ctx.add_init_script(f"Object.defineProperty({signal});")
    page = ctx.new_page()
    page.goto(_page(env, origin, site, marker))
    assert _shown(page) == "A"
    page.click("#spa")
    page.evaluate("lodestone.flush(1)")
    time.sleep(2.0)
    assert env.events(f"url LIKE '%{marker}%'") == []
    assert page.evaluate("Object.keys(localStorage).length") == 0
    ctx.close()


def test_slow_config_falls_back_to_control_without_exposure(env: Env, web: tuple, browser: Any) -> None:  # type: ignore[type-arg]
    origin, sites = web
    marker = uuid.uuid4().hex
    Pages.beacons.clear()
    slow = Site_(sites["cookieless"].key, "", "slow-exp", "m-slow")
    ctx = browser.new_context(user_agent=CHROME)
    page = ctx.new_page()
    page.goto(_page(env, origin, slow, marker, src=f"{env.base}/s.js",
                    extra=f'data-api="{origin}/slow" data-timeout="300"'))
    t0 = time.monotonic()
    assert _shown(page) == "A" and time.monotonic() - t0 < 2.5  # hidden at most ~the timeout
    time.sleep(3.5)  # the config arrives late: the page keeps what it showed
    assert _shown(page) == "A"
    page.evaluate("lodestone.flush(1)")
    sent = [e for b in Pages.beacons for e in json.loads(b)["events"]]
    wait_for(lambda: Pages.beacons, timeout=5)
    sent = [e for b in Pages.beacons for e in json.loads(b)["events"]]
    assert [e["event"] for e in sent if e["event"] != "magnet_view"] == ["pageview"]
    ctx.close()
