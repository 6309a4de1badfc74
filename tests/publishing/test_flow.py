"""End to end: landing page -> opt-in -> mail at a real SMTP server -> one click confirms
and delivers -> every step in the warehouse (chDB over the lake) and in the outbox."""

from __future__ import annotations

import time

import sqlalchemy as sa

from experiments.assignment import assign
from kernel.metadata.enums import ConsentMode
from kernel.metadata.models import Lead, LeadMagnet, MailMessage, OutboxEvent
from publishing.links import Links
from publishing.mails import queue_delivery
from tests.publishing.conftest import Env, seed
from tests.publishing.pages import (
    attr,
    form_token,
    html_part,
    link,
    path_of,
    post,
    text_part,
    visit,
)


def test_visit_opt_in_confirm_download(env: Env) -> None:
    m = seed(env.sessions, "flow")
    c = env.client
    c.cookies.clear()
    page, vid, variant = visit(c, m.path)
    assert vid and variant in ("A", "B")
    assert variant == assign(m.experiment, vid, ["A", "B"], [0.5, 0.5], 1.0)
    headline = ("Is your page ready for Google?" if variant == "B"
                else "The 27-point SEO checklist")
    assert f"<h1>{headline}</h1>" in page
    assert "Used by 1,200 editors" in page and 'rel="canonical"' in page
    assert 'property="og:title"' in page and 'name="twitter:card"' in page
    assert "still being prepared" in page  # no built artifact yet: the page says so
    for _ in range(3):  # stable across reloads
        again, vid2, variant2 = visit(c, m.path)
        assert (vid2, variant2) == (vid, variant)
    token = form_token(again)

    r = post(c, m.path, token, email="Ada.Lovelace@Example.com", name="Ada",
             field_company="Analytical Engines", consent_marketing_email="yes")
    assert r.status_code == 303, r.text[:300]
    thanks = c.get(r.headers["location"])
    assert thanks.status_code == 200 and "Check your inbox" in thanks.text

    (mail,) = env.smtp.wait_for("ada.lovelace@example.com")
    assert mail["Message-ID"].startswith("<") and mail["Message-ID"].endswith(">")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Unsubscribe"].startswith("<http://testserver/u/")
    assert mail.get_content_type() == "multipart/alternative"
    assert "Ada" in str(mail["To"]) and "Confirm" in mail["Subject"]
    confirm_url = link(text_part(mail), "/c/")
    assert confirm_url in html_part(mail)

    done = c.get(path_of(confirm_url))
    assert done.status_code == 200, done.text[:300]
    assert "here is your download" in done.text
    download_url = link(done.text, "/d/")
    file = c.get(path_of(download_url))
    assert file.status_code == 200
    assert file.headers["content-disposition"].startswith("attachment;")
    assert b"still being prepared" in file.content
    assert c.get(path_of(confirm_url)).status_code == 200  # a second click: same page

    with env.sessions() as s:
        lead = s.scalars(sa.select(Lead).where(Lead.org_id == m.org_id)).one()
        assert lead.confirmed_at is not None and lead.variant == variant
        assert lead.visitor_id == vid and lead.fields == {"company": "Analytical Engines"}
        assert lead.consents[0]["purpose"] == "marketing_email" and lead.consents[0]["granted"]
        assert lead.consents[0]["version"] == "1" and "unsubscribe" in lead.consents[0]["text"]
        types = s.scalars(sa.select(OutboxEvent.event_type)
                          .where(OutboxEvent.org_id == m.org_id)).all()
        assert sorted(types) == ["lead.confirmed", "lead.created"]  # once, despite 2 clicks

    want = ["confirmed", "download", "exposure", "lead", "magnet_view"]
    rows = env.events(f"org_id = '{m.org_id}' AND visitor_id = '{vid}'", count=8)
    by_event: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_event.setdefault(str(row["event"]), []).append(row)
    assert sorted(by_event) == want
    assert len(by_event["magnet_view"]) == 4 and len(by_event["exposure"]) == 1
    assert len(by_event["confirmed"]) == 1 and len(by_event["lead"]) == 1
    exposure = by_event["exposure"][0]
    assert (exposure["experiment_id"], exposure["variant"]) == (m.experiment, variant)
    assert by_event["lead"][0]["experiment_id"] == m.experiment
    assert all(r["magnet_id"] == m.id for r in rows)


def test_repeat_opt_in_resends_and_unsubscribe_is_honoured(env: Env) -> None:
    m = seed(env.sessions, "repeat", experiment=False)
    c = env.client
    c.cookies.clear()
    page, _, variant = visit(c, m.path)
    assert variant == ""  # no experiment: the control's content, no exposure
    r = post(c, m.path, form_token(page), email="grace@example.com", json=True)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    (first,) = env.smtp.wait_for("grace@example.com")
    assert c.get(path_of(link(text_part(first), "/c/"))).status_code == 200
    # signing up again once confirmed: the magnet again, no second confirmation
    page, _, _ = visit(c, m.path)
    r = post(c, m.path, form_token(page), email="GRACE@example.com", json=True)
    assert r.json().get("status") == "resent", r.text
    mails = env.smtp.wait_for("grace@example.com", 2)
    assert mails[1]["Subject"].startswith("Your copy of")
    assert c.get(path_of(link(text_part(mails[1]), "/d/"))).status_code == 200
    # RFC 8058 one-click unsubscribe, as a mailbox provider sends it
    unsub = path_of(mails[1]["List-Unsubscribe"].strip("<>"))
    r = c.post(unsub, content=b"List-Unsubscribe=One-Click",
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and "unsubscribed" in r.text
    with env.sessions() as s:  # a later send to that address is suppressed
        lead = s.scalars(sa.select(Lead).where(Lead.org_id == m.org_id)).one()
        magnet = s.get(LeadMagnet, m.id)
        assert magnet is not None
        mail = queue_delivery(s, magnet, lead, "Repeat", Links("http://testserver",
                                                               env.settings))
        s.commit()
        mail_id = mail.id
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with env.sessions() as s:
            status = s.get(MailMessage, mail_id).status  # type: ignore[union-attr]
        if status != "pending":
            break
        time.sleep(0.1)
    assert status == "suppressed"
    assert len(env.smtp.to("grace@example.com")) == 2


def test_single_opt_in_delivers_at_once(env: Env) -> None:
    m = seed(env.sessions, "single", double_opt_in=False, experiment=False)
    c = env.client
    c.cookies.clear()
    page, vid, _ = visit(c, m.path)
    assert "Your download starts right after you submit." in page
    r = post(c, m.path, form_token(page), email="linus@example.com")
    assert r.status_code == 303
    thanks = c.get(r.headers["location"])
    assert "Your download is ready" in thanks.text
    assert c.get(path_of(link(thanks.text, "/d/"))).status_code == 200
    (mail,) = env.smtp.wait_for("linus@example.com")
    assert mail["Subject"].startswith("Your copy of")
    with env.sessions() as s:
        types = sorted(s.scalars(sa.select(OutboxEvent.event_type)
                                 .where(OutboxEvent.org_id == m.org_id)).all())
    assert types == ["lead.confirmed", "lead.created"]
    rows = env.events(f"org_id = '{m.org_id}' AND visitor_id = '{vid}' AND "
                      "event IN ('lead', 'confirmed', 'download')", count=3)
    assert sorted(r["event"] for r in rows) == ["confirmed", "download", "lead"]


def test_cookieless_org_sets_no_cookie_and_keeps_the_variant(env: Env) -> None:
    m = seed(env.sessions, "cookieless", consent_mode=ConsentMode.COOKIELESS)
    c = env.client
    c.cookies.clear()
    variants = set()
    for _ in range(3):
        r = c.get(m.path)
        assert r.status_code == 200 and "set-cookie" not in r.headers
        variants.add(attr(r.text, "data-ls-variant"))
    salts = c.app.state.collector.salts  # type: ignore[attr-defined]
    vid = salts.visitor_id(m.org_id, "testclient", "testclient")
    assert variants == {assign(m.experiment, vid, ["A", "B"], [0.5, 0.5], 1.0)}
    rows = env.events(f"org_id = '{m.org_id}'", count=6)
    assert {r["visitor_id"] for r in rows} == {vid}
    assert sorted(r["event"] for r in rows) == ["exposure"] * 3 + ["magnet_view"] * 3
    assert "set no cookie" in c.get(f"/p/{m.org_slug}/privacy").text
