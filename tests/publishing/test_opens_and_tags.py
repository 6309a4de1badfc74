"""Email opens and tag segments: the confirmation and campaign mails carry an open pixel
that records one ``email_open`` per mail and recipient however often it loads; a lead's
tags come from its magnet and the API; a campaign to a tag reaches only those leads."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import sqlalchemy as sa

from kernel.metadata.models import Lead, LeadMagnet, MailMessage
from kernel.metadata.types import utcnow
from publishing.campaigns import queue_due_campaigns
from tests.publishing.conftest import Env, seed
from tests.publishing.pages import form_token, html_part, path_of, post, visit
from tests.publishing.test_distribution import _key

CONSENT = [{"purpose": "marketing_email", "granted": True, "text": "t", "version": "1"}]


def _pixel(html: str) -> str:
    found = re.search(r'<img src="([^"]+/o/[^"]+\.gif)"', html)
    assert found, "no open pixel in the mail"
    return found.group(1).replace("&amp;", "&")


def test_open_pixel_records_one_email_open_per_mail(env: Env) -> None:
    m = seed(env.sessions, "opens", content={
        "title": "Opens", "tags": ["SaaS", "growth", "not a tag!"]})
    page, _vid, _variant = visit(env.client, m.path)
    r = post(env.client, m.path, form_token(page), email="open@example.com",
             consent_marketing_email="yes", json=True)
    assert r.status_code == 200, r.text
    (mail,) = env.smtp.wait_for("open@example.com")
    pixel = path_of(_pixel(html_part(mail)))
    for _ in range(3):  # the client reloads images: still one open
        got = env.client.get(pixel)
        assert got.status_code == 200 and got.headers["content-type"] == "image/gif"
        assert got.headers["cache-control"] == "private, no-store"
    rows = env.events(f"magnet_id = '{m.id}' AND event = 'email_open'")
    assert len(rows) == 1
    with env.sessions() as s:
        lead = s.scalar(sa.select(Lead).where(Lead.magnet_id == m.id))
        assert lead is not None
        assert lead.tags == ["growth", "saas"]  # from the magnet, invalid ones dropped
        lead_id = lead.id
    assert rows[0]["visitor_id"] == lead.visitor_id
    assert '"mail":"confirm"' in rows[0]["props"] and lead_id in rows[0]["props"]
    # a tampered pixel is still an image, and records nothing
    assert env.client.get(pixel.replace(".gif", "x.gif")).status_code == 200
    assert len(env.events(f"magnet_id = '{m.id}' AND event = 'email_open'", timeout=1)) == 1


def test_campaign_to_a_tag_reaches_only_tagged_leads(env: Env) -> None:
    m = seed(env.sessions, "tags")
    auth = _key(env, m.org_id)
    with env.sessions() as s:
        magnet = s.get(LeadMagnet, m.id)
        assert magnet is not None
        leads = [Lead(org_id=m.org_id, magnet_id=m.id, email=f"t{i}@example.com",
                      confirmed_at=utcnow(), consents=CONSENT) for i in range(4)]
        s.add_all(leads)
        s.commit()
        ids = [lead.id for lead in leads]
    bad = env.client.put(f"/v1/leads/{ids[0]}/tags", json={"tags": ["Not OK!"]}, headers=auth)
    assert bad.status_code == 422 and "is not a tag" in bad.text
    for lead_id, tags in zip(ids, (["vip"], ["vip", "beta"], ["beta"], []), strict=True):
        r = env.client.put(f"/v1/leads/{lead_id}/tags", json={"tags": tags}, headers=auth)
        assert r.status_code == 200 and r.json()["tags"] == sorted(tags)
    when = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    r = env.client.post("/v1/campaigns", headers=auth, json={
        "magnet_id": m.id, "name": "VIP launch", "subject": "For you", "scheduled_at": when,
        "tags": ["VIP"]})
    assert r.status_code == 201, r.text
    assert r.json()["segment"]["tags"] == ["vip"]
    campaign_id = r.json()["id"]
    queue_due_campaigns(env.sessions, env.settings)
    with env.sessions() as s:
        # recipients and bodies are stored encrypted: read the rows, not the columns
        mails = s.scalars(sa.select(MailMessage).where(
            MailMessage.org_id == m.org_id, MailMessage.kind.startswith("campaign"))).all()
        sent = sorted(mail.to_addr for mail in mails)
        html = next(mail.html_body for mail in mails if mail.to_addr == "t0@example.com")
    assert sent == ["t0@example.com", "t1@example.com"]
    pixel = path_of(_pixel(html or ""))
    assert env.client.get(pixel).status_code == 200
    rows = env.events(f"magnet_id = '{m.id}' AND event = 'email_open'")
    assert len(rows) == 1 and campaign_id in rows[0]["props"]
    expected = uuid.uuid5(uuid.NAMESPACE_URL,
                          f"lodestone:email_open:{m.org_id}:{ids[0]}:campaign:{campaign_id}")
    assert str(rows[0]["event_id"]) == str(expected)
