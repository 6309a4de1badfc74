"""Studio: create a magnet from a template and a topic, draft it (AI, or the offline generator
without an endpoint), edit it section by section with a preview of page 1, read its quality
checks with their numbers, and move it through review: submit, approve or reject, publish."""

from __future__ import annotations

import json
import re
from typing import Any

import streamlit as st

from dashboards import filters
from dashboards.client import ApiError
from dashboards.data import act, clear, fetch, get, show_error
from dashboards.page import viewer
from dashboards.session import P, Viewer

v = viewer()
st.title("Studio")
can_write, can_approve = v.can(P.LEAD_MAGNETS_WRITE), v.can(P.LEAD_MAGNETS_APPROVE)
try:
    templates: list[dict[str, Any]] = fetch(v, "/v1/templates")
except ApiError as exc:
    if exc.status != 404:
        show_error(exc)
        st.stop()
    st.info("The studio needs the content API, which this server does not offer yet: create "
            "magnets with `POST /v1/magnets` and follow them on the Magnets page.")
    st.stop()
by_template = {t["name"]: t for t in templates}


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "magnet"


def attempt(label: str, fn: Any) -> Any:
    """Run an API call for an action; its refusal is shown as the API's message."""
    try:
        return fn()
    except ApiError as exc:
        st.error(f"{label}: {exc.message}")
        return None


magnets = sorted(get(v, "/v1/magnets", limit=200)["data"], key=lambda m: m["name"])
if can_write:
    with st.expander("New magnet from a template", expanded=not magnets), st.form("new_magnet"):
        tpl = st.selectbox("Template", list(by_template), format_func=lambda n: (
            f"{by_template[n]['industry']} · {by_template[n]['type']} — {by_template[n]['description']}"))
        name = st.text_input("Name", placeholder="The SaaS churn playbook")
        topic = st.text_input("Topic", placeholder="reducing churn in the first 90 days",
                              help="What the draft is about; the offline generator works without AI.")
        audience = st.text_input("Audience (optional)", placeholder="founders of B2B startups")
        if st.form_submit_button("Create and draft", type="primary"):
            t = by_template[tpl]
            if not name.strip() or not topic.strip():
                st.error("Give the magnet a name and a topic.")
            else:
                made = attempt("Could not create the magnet", lambda: act(v, "/v1/magnets", {
                    "name": name.strip(), "slug": slugify(name), "type": t["type"],
                    "design": {"template": tpl}}))
                if made:
                    job = attempt("Could not queue the draft", lambda: act(
                        v, f"/v1/magnets/{made['id']}/drafts",
                        {"topic": topic.strip(), "industry": t["industry"], "audience": audience}))
                    st.session_state["studio_job"] = job["id"] if job else None
                    st.query_params["magnet"] = made["id"]
                    st.session_state["studio_magnet"] = made["id"]  # the picker shows it
                    st.rerun()
if not magnets:
    st.info("No magnets yet." + (" Create one above from a template and a topic." if can_write
                                 else " An editor or owner creates them here."))
    st.stop()

names = {m["id"]: m["name"] for m in magnets}
chosen = filters.choose("Magnet", "magnet", list(names), names, allow_all=False, sidebar=False,
                        key="studio_magnet") or magnets[0]["id"]
m = get(v, f"/v1/magnets/{chosen}")
st.header(m["name"])
st.caption(f"{m['type']} · review status **{m['status']}** · `{m['id']}`")


@st.fragment(run_every=2)
def job_status(c: Viewer, job_id: str) -> None:
    """A queued draft or build, polled until it finishes."""
    job = attempt("Could not read the job", lambda: c.client.get(f"/v1/jobs/{job_id}"))
    if not job:
        return
    if job["status"] in ("queued", "running"):
        st.info(f"{job['kind']} {job['status']} · {job['progress']:.0%} {job['message']}")
    else:
        st.session_state.pop("studio_job", None)
        if job["status"] == "succeeded":
            st.success(f"{job['kind']} finished.")
        else:
            st.error(f"{job['kind']} {job['status']}: {job.get('error') or job['message']}")
        clear()
        st.rerun()


if st.session_state.get("studio_job"):
    job_status(v, st.session_state["studio_job"])

doc_tab, preview_tab, checks_tab, review_tab = st.tabs(
    ["Document", "Preview", "Quality checks", "Review and publish"])

with doc_tab:
    try:
        current = v.client.get(f"/v1/magnets/{chosen}/document")
    except ApiError as exc:
        current = None
        st.info(f"No document yet ({exc.message}).")
    doc = (current or {}).get("document") or {}
    if can_write:
        with st.form("draft"):
            topic = st.text_input("Topic of a new draft", value=doc.get("title") or m["name"])
            if st.form_submit_button("Draft again (AI, offline generator without an endpoint)"):
                job = attempt("Could not queue the draft", lambda: act(
                    v, f"/v1/magnets/{chosen}/drafts", {"topic": topic}))
                if job:
                    st.session_state["studio_job"] = job["id"]
                    st.rerun()
    if current and doc.get("sections"):
        st.caption(f"Version {current['version']} · {len(doc['sections'])} sections · "
                   "each save is a new version (If-Match: a concurrent edit is refused, not lost)")

        def save(new_doc: dict[str, Any]) -> None:
            saved = attempt("Not saved", lambda: v.client.put(
                f"/v1/magnets/{chosen}/document", {"document": new_doc},
                headers={"If-Match": f'"{current["version"]}"'}))
            if saved:
                clear()
                build = attempt("Preview not queued", lambda: act(
                    v, f"/v1/magnets/{chosen}/builds", {"formats": ["pdf"]}
                    if m["type"] in ("ebook", "checklist", "template", "infographic") else None))
                if build:
                    st.session_state["studio_job"] = build["job_id"]
                st.rerun()

        for i, sec in enumerate(doc["sections"]):
            with st.expander(f"{i + 1}. {sec['title']}"):
                if not can_write:
                    st.json(sec, expanded=False)
                    continue
                with st.form(f"section_{i}"):
                    title = st.text_input("Title", sec["title"], key=f"t{i}")
                    summary = st.text_area("Summary", sec.get("summary", ""), key=f"s{i}")
                    blocks = st.text_area("Blocks (JSON)", json.dumps(sec.get("blocks", []), indent=2),
                                          height=240, key=f"b{i}")
                    if st.form_submit_button("Save section"):
                        try:
                            parsed = json.loads(blocks)
                        except json.JSONDecodeError as exc:
                            st.error(f"Blocks are not valid JSON: {exc}")
                        else:
                            sections = list(doc["sections"])
                            sections[i] = {**sec, "title": title, "summary": summary, "blocks": parsed}
                            save({**doc, "sections": sections})
    elif current:
        st.info("The document has no sections yet: draft it above.")

with preview_tab:
    # read fresh (not cached): the editor waits for builds it just queued
    builds = (attempt("Could not list builds", lambda: v.client.get(
        f"/v1/magnets/{chosen}/builds", {"limit": 5})) or {"data": []})["data"]
    done = [b for b in builds if b["status"] == "succeeded"]
    if can_write and st.button("Build now"):
        build = attempt("Build not queued", lambda: act(v, f"/v1/magnets/{chosen}/builds"))
        if build:
            st.session_state["studio_job"] = build["job_id"]
            st.rerun()
    if not done:
        st.info("No finished build yet: save a section or press Build now.")
    else:
        latest = done[0]
        st.caption(f"Page 1 of build `{latest['id']}` (document version {latest['document_version']}, "
                   f"template {latest['template']})")
        pdf = next((a for a in latest["artifacts"] if a["media_type"] == "application/pdf"), None)
        png = next((a for a in latest["artifacts"] if a["media_type"] == "image/png"), None)
        try:
            if png:
                st.image(v.client.get_bytes(png["download_url"]), width=520)
            elif pdf:
                from content.render.pdf import pdf_to_png  # rasterise page 1 (poppler)

                st.image(pdf_to_png(v.client.get_bytes(pdf["download_url"]), dpi=70), width=520)
            elif html := next((a for a in latest["artifacts"]
                               if a["media_type"].startswith("text/html")), None):
                # not embedded: the page runs scripts, and an iframe of it would share the
                # dashboard's origin (and the signed-in session)
                st.info("A calculator is a web page: download it and open it in a browser.")
                st.download_button(f"Download {html['name']}", v.client.get_bytes(html["download_url"]),
                                   file_name=html["name"], mime="text/html", key="preview_html")
            else:
                st.info("This build has no PDF, image or page to preview (" +
                        ", ".join(a["name"] for a in latest["artifacts"]) + ").")
        except ApiError as exc:
            st.error(f"Could not load the preview: {exc.message}")

with checks_tab:
    checks = attempt("Could not read the checks", lambda: v.client.get(
        f"/v1/magnets/{chosen}/checks")) or {"passed": False, "checks": [], "document_version": 0}
    if checks["passed"]:
        st.success(f"Every check passes on version {checks['document_version']}.")
    else:
        st.warning(checks.get("blocked_reason") or "A check fails: submit and publish are blocked.")
    st.dataframe([{
        "Check": c["name"], "Passed": "yes" if c["passed"] else "NO",
        "Value": "–" if c["value"] is None else f"{c['value']:,.3g}",
        "Threshold": "–" if c["threshold"] is None else f"{c['threshold']:,.3g}",
        "Message": c["message"]} for c in checks["checks"]], hide_index=True, width="stretch")

with review_tab:
    status = m["status"]
    st.markdown(f"Review status: **{status}** (draft → in review → approved → published)")
    note = st.text_input("Note for the audit log (optional)", key="review_note") \
        if (can_write or can_approve) else ""
    moves = []
    if can_write and status == "draft":
        moves.append(("Submit for review", "submit"))
    if can_approve and status == "in_review":
        moves += [("Approve", "approve"), ("Reject", "reject")]
    if can_write and status == "approved":
        moves.append(("Publish", "publish"))
    override = False
    if can_approve and moves and not checks["passed"]:
        override = st.checkbox("Override the failing quality checks (owner or admin; audited "
                               "with the note)", key="wf_override")
    for label, action in moves:
        if st.button(label, key=f"wf_{action}"):
            body: dict[str, Any] = {"note": note}
            if override and action in ("submit", "publish"):
                body["override"] = True
            if attempt(f"Could not {action}", lambda a=action, b=body: act(
                    v, f"/v1/magnets/{chosen}/{a}", b)):
                st.rerun()
    if not moves:
        st.caption("No step is yours to take at this status." if (can_write or can_approve)
                   else "Your role can read magnets but not change them.")
