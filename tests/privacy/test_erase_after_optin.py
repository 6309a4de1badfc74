"""A person who came through the real product (landing page, opt-in form, mail at a real
SMTP server, confirm link, download) is found, then erased from every store: the byte scan
of the data directory and of the metadata database finds neither their email nor their
visitor id, and another visitor's opt-in on the same page stays whole. The erasure runs as
the durable job the API process's worker picks up, not called by the test."""

from __future__ import annotations

import time

import sqlalchemy as sa

from kernel.metadata.audit import Actor
from kernel.metadata.models import Lead, PrivacyRequest
from kernel.warehouse.lake_backend import LakeWarehouse
from privacy import requests, scan
from tests.publishing.conftest import (  # noqa: F401 - env and smtp: the fixtures, shared
    Env,
    env,
    seed,
    smtp,
)
from tests.publishing.pages import form_token, link, path_of, post, text_part, visit


def _opt_in(e: Env, path: str, email: str) -> str:
    """Visit, opt in, confirm through the mailed link, download; the visitor id."""
    c = e.client
    c.cookies.clear()
    page, vid, _ = visit(c, path)
    r = post(c, path, form_token(page), email=email, name="Grace",
             field_company="Harvard Mark I", consent_marketing_email="yes")
    assert r.status_code == 303, r.text[:300]
    (mail,) = e.smtp.wait_for(email)
    done = c.get(path_of(link(text_part(mail), "/c/")))
    assert done.status_code == 200, done.text[:300]
    assert c.get(path_of(link(done.text, "/d/"))).status_code == 200
    return vid


def test_a_person_from_the_landing_page_is_erased_everywhere(env: Env) -> None:  # noqa: F811
    m = seed(env.sessions, "erasable")
    email, other = "grace.hopper@example.com", "alan.turing@example.com"
    vid = _opt_in(env, m.path, email)
    other_vid = _opt_in(env, m.path, other)
    for v in (vid, other_vid):  # magnet_view, exposure, lead, confirmed, download shipped
        assert len(env.events(f"org_id = '{m.org_id}' AND visitor_id = '{v}'", count=5)) >= 5
    needles = [email, vid]
    assert scan.scan_files(env.settings.data_path, needles)  # the lake holds the visitor id

    wh = LakeWarehouse(env.settings.lake_dir)
    actor = Actor.system("test")
    with env.sessions() as s:
        found = requests.find(s, wh, env.settings, m.org_id, actor, email=email)
        req = requests.request(s, m.org_id, actor, env.settings, "erase", email=email)
        s.commit()
        request_id = req.id
    assert len(found["lead_ids"]) == 1 and vid in found["visitor_ids"]
    assert found["counts"]["events"] >= 5 and found["counts"]["mail_messages"] >= 1

    # The request is a durable job: the API process's job worker runs it (as in production).
    deadline = time.monotonic() + 60
    while True:
        with env.sessions() as s:
            done = s.get_one(PrivacyRequest, request_id)
            status, steps = done.status, dict(done.steps or {})
        if status == "done" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == "done", (status, steps)
    assert steps["warehouse"].get("events", 0) + steps["spool"] >= 5, steps
    assert steps["metadata"] >= 2, steps

    assert scan.scan_files(env.settings.data_path, needles) == []
    assert scan.scan_database(env.sessions.kw["bind"], needles) == []
    left = wh.query("SELECT visitor_id AS v, count() AS n FROM {{ source('events') }} "
                    f"WHERE org_id = '{m.org_id}' GROUP BY v")
    wh.close()
    assert {r["v"] for r in left} == {other_vid}
    with env.sessions() as s:
        (lead,) = s.scalars(sa.select(Lead).where(Lead.org_id == m.org_id)).all()
        assert lead.email == other and lead.visitor_id == other_vid and lead.confirmed_at
