"""Privacy against one real ``lodestone serve`` (API, landing pages and collector in one
process) on 127.0.0.1, with the snippet in headless Chromium:

* consent records drive tracking: in ``consent_required`` mode a visitor id counts only while
  its newest ``analytics`` record says granted; a withdrawal through the API makes the next
  page view, the next batch and the snippet's next config anonymous (the cookieless id), and
  a choice made in the banner or with ``lodestone.consent()`` is a record in force at once;
* each organization's PII policy drives the collector (redacted for one, refused for the
  other), counted in /metrics, never logged;
* an erasure while the server holds the person's acknowledged events and cannot ship them
  (the lake is down, then the server is frozen): its spool is rewritten under the slot's
  ship lock, so once shipping resumes the person's events never reach the lake and every
  other acknowledged event arrives exactly once (last: it stops the server for a while)."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ingestion.frames import read_table
from kernel.metadata.audit import Actor
from kernel.metadata.enums import ConsentMode
from kernel.metadata.models import Organization, Site
from kernel.settings import Settings
from kernel.warehouse.lake_backend import LakeWarehouse
from lodestone.seed import SeededOrg
from lodestone.services import session_factory
from privacy import requests, scan
from publishing import tokens
from tests.helpers import running_server
from tests.ingestion.support import CHROME, setup_storage, wait_until
from tests.ingestion.test_outage import Outage
from tests.publishing.pages import attr

KEPT = "v-granted-earlier-0001"  # an id stored after an earlier grant (not today's hash)
EMAIL = "ada.pii@example.com"


class Pages(BaseHTTPRequestHandler):
    """A site of another origin embedding the snippet."""

    body = b""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@dataclass
class Env:
    settings: Settings
    base: str
    origin: str
    org: SeededOrg
    other: SeededOrg
    api: httpx.Client
    log: str
    proc: subprocess.Popen[bytes]

    def events(self, where: str) -> list[dict[str, Any]]:
        wh = LakeWarehouse(self.settings.lake_dir)
        try:
            return wh.query(f"SELECT * FROM {{{{ source('events') }}}} WHERE {where}")
        finally:
            wh.close()

    def wait_events(self, where: str, n: int = 1) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = wait_until(
            lambda: len(r := self.events(where)) >= n and r, 30, f"events where {where}", 0.3)
        return rows

    def records(self, visitor: str) -> list[dict[str, Any]]:
        r = self.api.get("/v1/consent/records", params={"visitor_id": visitor})
        assert r.status_code == 200, r.text
        return list(r.json())


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    web = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{web.server_address[1]}"
    settings, org, other = setup_storage(tmp_path_factory.mktemp("consent") / "data",
                                         privacy_spool_wait_s=10.0)
    with session_factory(settings)() as s:
        s.execute(sa.update(Organization).where(Organization.id == org.org_id)
                  .values(consent_mode=ConsentMode.CONSENT_REQUIRED))
        s.execute(sa.update(Site).where(Site.org_id == org.org_id)
                  .values(allowed_origins=[origin]))
        s.commit()
    with running_server(settings, timeout=120) as (base, proc):
        api = httpx.Client(base_url=base, timeout=20,
                           headers={"Authorization": f"Bearer {org.api_key}"})
        yield Env(settings, base, origin, org, other, api,
                  str(settings.data_path / f"server-{base.rsplit(':', 1)[1]}.log"), proc)
        api.close()
    web.shutdown()


def _grant(env: Env, visitor: str) -> None:
    r = env.api.post("/v1/consent/records", json={"purpose": "analytics", "visitor_id": visitor})
    assert r.status_code == 201 and r.json()["granted"] is True, r.text


def _withdraw(env: Env, visitor: str) -> None:
    r = env.api.post("/v1/consent/withdraw", json={"purpose": "analytics", "visitor_id": visitor})
    assert r.status_code == 201, r.text


def test_banner_and_api_records_decide_the_landing_pages_and_batches(env: Env) -> None:
    magnet = env.org.magnets[0]
    page = f"/m/{env.org.slug}/{magnet.slug}"
    browser = httpx.Client(base_url=env.base, timeout=20, headers={"User-Agent": CHROME})
    # The banner's accept is a consent record (source banner) for the page's cookieless id.
    first = browser.get(page)
    token = attr(first.text[first.text.index('id="ls-consent"'):], "value")
    today = tokens.verify(env.settings.secret_key, "consent", token)["v"]
    ok = browser.post(f"{page}/consent", data={"token": token, "choice": "accept"},
                      headers={"Accept": "application/json"})
    assert ok.json() == {"consent": "granted"} and browser.cookies.get("ls_vid") == today
    assert [(r["purpose"], r["granted"], r["source"]) for r in env.records(today)] == [
        ("analytics", True, "banner")]

    # An id kept from an earlier grant counts while its record says granted ...
    browser.cookies.clear()
    browser.cookies.set("ls_vid", KEPT)
    browser.cookies.set("ls_consent", "granted")
    browser.get(page, params={"t": "before"})  # never granted: anonymous, cookie dropped
    _grant(env, KEPT)
    browser.cookies.set("ls_vid", KEPT)
    browser.get(page, params={"t": "granted"})
    # ... and not a moment after the withdrawal through the API.
    _withdraw(env, KEPT)
    after = browser.get(page, params={"t": "withdrawn"})
    cookies = after.headers.get_list("set-cookie")
    assert any(c.startswith('ls_vid=""') or c.startswith("ls_vid=;") for c in cookies), cookies
    assert any(c.startswith("ls_consent=denied") for c in cookies), cookies
    views = {re.search(r"t=(\w+)", r["url"]).group(1): r["visitor_id"]  # type: ignore[union-attr]
             for r in env.wait_events(f"org_id = '{env.org.org_id}' AND event = 'magnet_view' "
                                      "AND url LIKE '%t=%'", 3)}
    assert views["granted"] == KEPT
    assert views["before"] == views["withdrawn"] == today  # the cookieless id, not KEPT

    # The collector's batches: a withdrawn or never granted id is replaced; granted kept.
    marker = uuid.uuid4().hex
    events = [{"event": "click", "visitor_id": v, "url": f"{env.origin}/{marker}/{v}"}
              for v in (KEPT, "v-never-granted-0002", today)]
    r = browser.post("/e", json={"site": env.org.site_key, "events": events},
                     headers={"Origin": env.origin})
    assert r.status_code == 200 and r.json()["accepted"] == 3
    got = {row["url"].rsplit("/", 1)[1]: row["visitor_id"]
           for row in env.wait_events(f"url LIKE '%{marker}%'", 3)}
    assert got[today] == today  # granted in the banner
    assert got[KEPT] != KEPT and got["v-never-granted-0002"] != "v-never-granted-0002"
    assert got[KEPT].startswith("c") and got["v-never-granted-0002"].startswith("c")

    # POST /consent (the snippet's lodestone.consent) refuses what it cannot record, with 4xx.
    site = env.org.site_key
    for body, status in [(b"{", 400), (b"[" * 100_000, 400), (b"\xff\xfe", 400),
                         (b'{"site": "%s", "visitor_id": "x", "granted": true}' % site.encode(),
                          400),
                         (b'{"site": "pub_nope", "visitor_id": "v-12345678", "granted": true}',
                          401)]:
        r = browser.post("/consent", content=body)
        assert r.status_code == status and r.json()["error"]["message"], (body[:40], r.text)
    r = browser.post("/consent", json={"site": site, "visitor_id": "v-12345678",
                                       "granted": True}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert env.records("v-12345678") == []
    browser.close()


SNIPPET_PAGE = """<!doctype html><html><head><script src="{base}/s.js" data-site="{site}">
</script></head><body><div data-ls-exp="none"><p data-ls-variant="A">Hello</p></div></body>
</html>"""


def test_snippet_follows_the_records_in_chromium(env: Env) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    Pages.body = SNIPPET_PAGE.format(base=env.base, site=env.org.site_key).encode()
    kept = "v-snippet-kept-0003"
    _grant(env, kept)
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", f"--user-agent={CHROME}"])
        ctx = b.new_context(user_agent=CHROME)
        # As if granted on an earlier day: the id is in localStorage before the snippet runs.
        ctx.add_init_script("if (!sessionStorage.getItem('seeded')) {"
                            "sessionStorage.setItem('seeded', '1');"
                            f"localStorage.setItem('ls_vid', '{kept}'); }}")
        page = ctx.new_page()

        def visit(tag: str) -> str | None:
            page.goto(f"{env.origin}/{tag}")
            page.wait_for_selector("[data-ls-exp][data-ls-done]", state="attached")  # config in
            page.evaluate(f"lodestone.track('click', {{variant: '{tag}'}}); lodestone.flush(1)")
            return page.evaluate("localStorage.getItem('ls_vid')")  # type: ignore[no-any-return]

        marker = uuid.uuid4().hex[:12]
        assert visit(f"granted{marker}") == kept
        _withdraw(env, kept)
        assert visit(f"withdrawn{marker}") is None  # the config said: store nothing
        page.evaluate("lodestone.consent(true)")  # the snippet's own grant: a record
        today = wait_until(lambda: page.evaluate("localStorage.getItem('ls_vid')"), 5, "ls_vid")
        assert today.startswith("c")
        before = len(env.records(today))  # the banner's grant, made in the first test
        page.evaluate("lodestone.consent(true)")  # again: one more record, in force at once
        wait_until(lambda: len(r := env.records(today)) > before and r[-1]["granted"], 10,
                   "the snippet's grant recorded")
        assert env.records(today)[-1]["source"] == "banner"
        assert visit(f"again{marker}") == today
        b.close()
    rows = env.wait_events(f"event = 'click' AND variant LIKE '%{marker}'", 3)
    by = {r["variant"].removesuffix(marker): r["visitor_id"] for r in rows}
    assert by == {"granted": kept, "withdrawn": today, "again": today}


def test_pii_policy_per_organization(env: Env) -> None:
    other = httpx.Client(base_url=env.base, timeout=20,
                         headers={"Authorization": f"Bearer {env.other.api_key}"})
    bad = env.api.put("/v1/privacy/pii-policy", json={"policy": "shred"})
    assert bad.status_code == 422
    assert env.api.put("/v1/privacy/pii-policy", json={"policy": "redact"}).json() == {
        "policy": "redact", "effective": "redact", "default": "redact"}
    assert other.put("/v1/privacy/pii-policy", json={"policy": "refuse"}).json()[
        "effective"] == "refuse"
    audit = env.api.get("/v1/audit-log", params={"action": "privacy.pii_policy_updated"}).json()
    assert [(a["before"], a["after"]) for a in audit["data"]] == [
        ({"policy": None}, {"policy": "redact"})]

    marker = uuid.uuid4().hex
    batch = {"events": [{"event": "custom", "url": f"https://a.example/{marker}",
                         "props": {"note": f"write to {EMAIL} please"}}]}
    kept = env.api.post("/v1/events", json=batch)
    assert kept.status_code == 200 and kept.json()["accepted"] == 1, kept.text
    refused = other.post("/v1/events", json=batch)
    assert refused.status_code == 422, refused.text
    err = refused.json()["error"]
    assert err["code"] == "personal_data" and "PII policy" in err["message"]
    assert err["details"] == [{"index": 0, "reason": err["message"]}]
    row = env.wait_events(f"url LIKE '%{marker}%'", 1)
    assert len(row) == 1 and row[0]["org_id"] == env.org.org_id
    assert "[redacted:email]" in row[0]["props"] and EMAIL not in row[0]["props"]

    def counted() -> bool:
        text = httpx.get(f"{env.base}/metrics").text
        found = re.search(r'lodestone_pii_findings_total\{kind="email",source="event"\} (\S+)',
                          text)
        gone = re.search(r'lodestone_events_rejected_total\{reason="personal_data"\} (\S+)', text)
        return bool(found and float(found.group(1)) >= 2 and gone and float(gone.group(1)) >= 1)

    wait_until(counted, 10, "the findings and the refusal in /metrics")
    # Back to the server's default (null): the organization's own policy is gone.
    assert other.put("/v1/privacy/pii-policy", json={"policy": None}).json() == {
        "policy": None, "effective": "redact", "default": "redact"}
    assert other.post("/v1/events", json=batch).json()["accepted"] == 1
    other.close()
    with open(env.log, encoding="utf-8", errors="replace") as fh:
        assert EMAIL not in fh.read()  # nothing logged in clear


PERSON = "v-live-spool-person-4d2c"


def _sealed_rows(spool: Path, marker: str = "") -> int:
    """Rows in sealed segments (whose URL holds ``marker``)."""
    sealed = sorted(spool.glob("slot-*/*.sealed"))
    if not sealed:
        return 0
    return sum(marker in url for url in read_table(sealed).column("url").to_pylist())


def _lake(lake: Path) -> list[tuple[str, str]]:
    wh = LakeWarehouse(lake)
    try:
        return [(str(r["e"]), str(r["v"])) for r in wh.query(
            "SELECT event_id AS e, visitor_id AS v FROM {{ source('events') }}")]
    finally:
        wh.close()


def _ship_lock_free(spool: Path) -> bool:
    for path in spool.glob("slot-*.ship"):
        with open(path, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(fh, fcntl.LOCK_UN)
    return True


def test_erasure_of_spooled_events_a_paused_server_holds(env: Env) -> None:
    settings, org, http = env.settings, env.org, env.api
    spool, lake = settings.spool_dir, settings.lake_dir
    marker = uuid.uuid4().hex
    mine: list[str] = []
    others: list[str] = []
    try:
        with Outage(lake):  # shipping fails: everything stays in the spool
            for batch in range(3):
                events = []
                for i in range(10):
                    eid, who = str(uuid.uuid4()), PERSON if i % 3 == 0 else f"v-other-{batch}-{i}"
                    (mine if who == PERSON else others).append(eid)
                    events.append({"event": "pageview", "event_id": eid, "visitor_id": who,
                                   "url": f"https://a.example/{marker}/{who}"})
                r = http.post("/v1/events", json={"site": org.site_key, "events": events})
                assert r.status_code == 200 and r.json()["accepted"] == 10  # acknowledged
            wait_until(lambda: _sealed_rows(spool, marker) == 30, 20, "the segments to be sealed")
            wait_until(lambda: http.get("/healthz").json()["shipping"] == "failing", 20,
                       "shipping to fail")
            # Freeze the collector between two shipping attempts: it keeps its slot.
            for _ in range(50):
                os.killpg(env.proc.pid, signal.SIGSTOP)
                if _ship_lock_free(spool):
                    break
                os.killpg(env.proc.pid, signal.SIGCONT)
            else:
                raise AssertionError("the collector never let go of its ship lock")
        assert (len(mine), len(others)) == (12, 18)
        assert not {e for e, _ in _lake(lake)} & {*mine, *others}  # lake back, nothing shipped

        sessions = session_factory(settings)
        with sessions() as s:
            req = requests.request(s, org.org_id, Actor.system("test"), settings, "erase",
                                   visitor_id=PERSON)
            s.commit()
        steps = requests.run_erasure(sessions, settings, req.id)
        assert steps["spool"] == 12  # rewritten in the live (frozen) collector's slot
        assert _sealed_rows(spool, marker) == 18

        os.killpg(env.proc.pid, signal.SIGCONT)
        sent = {*mine, *others}
        stored = wait_until(lambda: len(rows := [r for r in _lake(lake) if r[0] in sent]) >= 18
                            and rows, 60, "the other visitors' events to be shipped")
        wait_until(lambda: _sealed_rows(spool) == 0, 20, "the spool to empty")
        ids = [e for e, _ in _lake(lake) if e in sent]
        assert sorted(ids) == sorted(others)  # every other acknowledged event, once
        assert PERSON not in {v for _, v in stored}
        assert scan.scan_files(settings.data_path, [PERSON]) == []
        assert scan.scan_database(sessions.kw["bind"], [PERSON]) == []
    finally:
        if env.proc.poll() is None:
            os.killpg(env.proc.pid, signal.SIGCONT)
