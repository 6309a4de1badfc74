"""Headless Chromium through every page as owner and as viewer, on the real Streamlit server:
no exception, no error box, no empty page, no action button for a viewer. Screenshots go to
tests/dashboards/screenshots/ (git-ignored) for a person to look at."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.settings import settings_env
from lodestone.seed import DEMO_PASSWORD
from tests.dashboards.conftest import ROOT, VIEWER_PASSWORD, World
from tests.helpers import free_port, wait_http

SHOTS = Path(__file__).parent / "screenshots"
PAGES = ["Overview", "Magnets", "Experiments", "Funnels", "Cohorts", "Attribution", "ROI",
         "Explore", "Studio"]
ACTIONS = ("Start", "Stop", "Promote", "Roll back", "Import spend", "Confirm")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
#: Streamlit has finished the run and nothing on the page is stale.
DONE = ("() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'"
        " && !document.querySelector('[data-stale=\"true\"]'); }")


@pytest.fixture(scope="module")
def dashboard(world: World) -> Iterator[str]:
    port = free_port()
    env = {**settings_env(world.settings), "LODESTONE_API_URL": world.base,
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log = open(world.settings.data_path / "streamlit.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboards" / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", 60, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def visit_all(base: str, email: str, password: str, role: str) -> list[str]:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2200})
        page.goto(base)
        page.get_by_role("textbox", name="Email", exact=True).fill(email)
        page.get_by_role("textbox", name="Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=60_000)
        assert page.get_by_text("Deploy", exact=True).count() == 0  # toolbar minimal
        for name in PAGES:
            page.get_by_role("link", name=name, exact=True).first.click()
            page.wait_for_timeout(300)
            page.wait_for_function(DONE, timeout=60_000)
            page.screenshot(path=str(SHOTS / f"{role}-{name.lower()}.png"))
            main = page.locator('[data-testid="stMain"]')
            if page.locator('[data-testid="stException"]').count():
                problems.append(f"{role} {name}: exception")
            if page.locator('[data-testid="stAlertContentError"]').count():
                problems.append(f"{role} {name}: error box "
                                + page.locator('[data-testid="stAlertContentError"]').first.inner_text())
            if len(main.inner_text().strip()) < 80 or not main.locator("h1").count():
                problems.append(f"{role} {name}: empty page")
            if role == "viewer":
                for b in main.get_by_role("button").all_inner_texts():
                    if b.strip().startswith(ACTIONS):
                        problems.append(f"viewer {name}: action button {b!r}")
        browser.close()
    return problems


@pytest.mark.slow
def test_every_page_in_chromium_as_owner_and_viewer(world: World, dashboard: str) -> None:
    problems = visit_all(dashboard, world.a.owner_email, DEMO_PASSWORD, "owner")
    problems += visit_all(dashboard, world.a.viewer_email, VIEWER_PASSWORD, "viewer")
    assert not problems, problems
    assert len(list(SHOTS.glob("*.png"))) >= 2 * len(PAGES)
