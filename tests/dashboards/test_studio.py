"""Studio and Magnets pages against the real API: create from a template and a topic, the
offline draft, a section edited (If-Match), page 1 previewed from a build, the checks' numbers,
submit → approve → publish by role; then the Magnets page shows who approved it, the landing
page, the embed snippet, the QR code and the build's artifacts. A viewer gets no action."""

from __future__ import annotations

import time
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.dashboards.conftest import VIEWER_PASSWORD, World
from tests.dashboards.test_pages import as_user, run, texts

ACTIONS = ("Create and draft", "Draft again", "Save section", "Build now", "Submit for review",
           "Approve", "Reject", "Publish")


def wait_job(world: World, token: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job = world.get(f"/v1/jobs/{job_id}", token)
        if job["status"] not in ("queued", "running"):
            assert job["status"] == "succeeded", job
            return job
        time.sleep(0.5)
    raise TimeoutError(job_id)


def labelled(widgets: Any, label: str) -> Any:
    return next(w for w in widgets if w.label == label)


def settle(world: World, token: str, at: AppTest) -> AppTest:
    """Wait for the job the page queued, then rerun the page."""
    job = at.session_state["studio_job"] if "studio_job" in at.session_state else None
    if job:
        wait_job(world, token, job)
        del at.session_state["studio_job"]
    return at.run()


def test_studio_from_template_to_published(world: World) -> None:
    token = world.token(world.a.owner_email)
    at = run(as_user(world, world.a.owner_email), "studio")
    labelled(at.selectbox, "Template").set_value("saas-ebook")
    labelled(at.text_input, "Name").input("Churn playbook")
    labelled(at.text_input, "Topic").input("reducing churn in the first 90 days")
    labelled(at.button, "Create and draft").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    magnet_id = at.query_params["magnet"][0] if isinstance(at.query_params["magnet"], list) \
        else at.query_params["magnet"]
    at = settle(world, token, at)
    doc = world.get(f"/v1/magnets/{magnet_id}/document", token)
    assert doc["document"]["sections"]  # type: ignore[index]
    assert at.header[0].value == "Churn playbook"

    at.text_input(key="t0").input("Why customers leave")
    labelled(at.button, "Save section").click()
    at.run()
    assert not at.error, [e.value for e in at.error]
    after = world.get(f"/v1/magnets/{magnet_id}/document", token)
    assert after["version"] == doc["version"] + 1  # type: ignore[operator]
    assert after["document"]["sections"][0]["title"] == "Why customers leave"  # type: ignore[index]
    at = settle(world, token, at)  # the preview build the save queued
    assert at.get("image"), [x.value for x in [*at.info, *at.error, *at.caption]]

    checks = world.get(f"/v1/magnets/{magnet_id}/checks", token)
    shown = at.dataframe[0].value
    assert len(shown) == len(checks["checks"])  # type: ignore[arg-type]
    assert list(shown["Check"]) == [c["name"] for c in checks["checks"]]  # type: ignore[union-attr, index]

    if not checks["passed"]:  # the offline draft resembles the demo magnets: override, noted
        at.text_input(key="review_note").input("reviewed by hand")
        at.checkbox(key="wf_override").check()
        at.run()
    for action, status in (("Submit for review", "in_review"), ("Approve", "approved"),
                           ("Publish", "published")):
        if not checks["passed"] and action != "Approve":
            at.checkbox(key="wf_override").check()
        labelled(at.button, action).click()
        at.run()
        assert not at.error, [e.value for e in at.error]
        assert world.get(f"/v1/magnets/{magnet_id}", token)["status"] == status

    page = run(as_user(world, world.a.owner_email), "magnets", {"magnet": magnet_id})
    shown_text = texts(page)
    assert "Approved by" in shown_text and world.a.owner_email in shown_text
    landing = world.get(f"/v1/magnets/{magnet_id}/publishing", token)["landing_url"]
    assert landing in shown_text and "**live**" in shown_text
    embed = world.get(f"/v1/magnets/{magnet_id}/embed", token)
    assert page.code[0].value == embed["inline"]
    names = {b.label.split(" · ")[0] for b in page.get("download_button")}
    build = world.get(f"/v1/magnets/{magnet_id}/builds", token)["data"][0]  # type: ignore[index]
    assert "Download QR code (PNG)" in names
    assert {a["name"] for a in build["artifacts"]} <= names  # type: ignore[index]


def test_studio_offers_a_viewer_nothing_to_do(world: World) -> None:
    at = run(as_user(world, world.a.viewer_email, VIEWER_PASSWORD), "studio")
    assert not at.error, [e.value for e in at.error]
    labels = [b.label for b in at.button] + [b.label for b in at.get("form_submit_button")]
    assert not [x for x in labels if x.startswith(ACTIONS)], labels
    assert "Studio" in texts(at)
