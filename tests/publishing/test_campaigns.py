"""Campaigns: 1,000 leads at a set rate through a real SMTP server, an unsubscribe
honoured mid-campaign, consent and segment rules, signed click redirects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import NotFoundError
from kernel.metadata.audit import Actor
from kernel.metadata.db import make_engine, make_session_factory, migrate
from kernel.metadata.enums import MagnetStatus, MagnetType
from kernel.metadata.models import Lead, LeadMagnet, MailCampaign, MailMessage, Organization
from kernel.metadata.types import utcnow
from publishing import tokens
from publishing.campaigns import CampaignError, queue_due_campaigns, schedule_campaign
from publishing.mail.outbox import suppress
from publishing.mail.sender import SmtpTransport
from publishing.mail.worker import send_due
from tests.helpers import make_settings
from tests.publishing.conftest import Env, Inbox, seed
from tests.publishing.pages import link, path_of, text_part
from tests.publishing.test_distribution import _key

SENDER = "Acme <news@acme.example>"
CONSENT = [{"purpose": "marketing_email", "granted": True, "text": "t", "version": "1"}]


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'campaigns.db'}")
    migrate(engine)
    return make_session_factory(engine)


def _world(sessions: sessionmaker[Session], n: int) -> tuple[str, str, str]:
    with sessions() as s:
        org = Organization(name="Acme", slug="acme")
        s.add(org)
        s.flush()
        magnets = [LeadMagnet(org_id=org.id, name=f"M{i}", slug=f"m{i}",
                              type=MagnetType("checklist"), status=MagnetStatus.PUBLISHED,
                              content={"title": "The SEO checklist"}) for i in range(2)]
        s.add_all(magnets)
        s.flush()
        confirmed = utcnow()
        s.add_all([Lead(org_id=org.id, magnet_id=magnets[0].id, email=f"r{i}@example.com",
                        confirmed_at=confirmed, consents=CONSENT if i >= 5 else [])
                   for i in range(n)])
        s.add_all([  # the same people on the other magnet: one mail each all the same
            Lead(org_id=org.id, magnet_id=magnets[1].id, email=f"r{i}@example.com",
                 confirmed_at=confirmed, consents=CONSENT) for i in range(10, 20)])
        s.add_all([Lead(org_id=org.id, magnet_id=magnets[0].id, email=f"p{i}@example.com",
                        consents=CONSENT) for i in range(3)])  # never confirmed
        s.commit()
        return org.id, magnets[0].id, magnets[1].id


@pytest.mark.slow  # ~30-45 s on 2 shared cores: 994 mails through SMTP, one commit each
def test_a_thousand_leads_at_a_set_rate_with_an_unsubscribe_midway(
        sessions: sessionmaker[Session], smtp: Inbox, tmp_path: Path) -> None:
    org_id, magnet_id, _ = _world(sessions, 1000)
    settings = make_settings(tmp_path / "data", public_url="https://go.acme.example")
    now = utcnow()
    with sessions() as s:
        campaign = schedule_campaign(s, org_id, Actor.system("test"), magnet_id=magnet_id,
                                     name="Spring launch", subject="New: the SEO checklist",
                                     intro="We made something.", scheduled_at=now)
        s.commit()
    assert queue_due_campaigns(sessions, settings, now - dt.timedelta(seconds=1)) == 0
    assert queue_due_campaigns(sessions, settings, now) == 995  # consented, confirmed, unique
    assert queue_due_campaigns(sessions, settings, now) == 0  # claimed once
    now = utcnow()  # the mails are due from when they were queued
    transport = SmtpTransport(f"smtp://127.0.0.1:{smtp.port}")
    first = send_due(sessions, transport, SENDER, now=now, batch=2000, per_minute=400)
    assert (first.sent, first.throttled) == (400, 595)
    with sessions() as s:  # someone still waiting unsubscribes mid-campaign
        waiting = min(m.to_addr for m in s.scalars(sa.select(MailMessage).where(
            MailMessage.status == "pending")))
        suppress(s, org_id, waiting, "unsubscribed")
        s.commit()
    second = send_due(sessions, transport, SENDER, now=now + dt.timedelta(seconds=30),
                      batch=2000, per_minute=400)
    assert second.sent == 0  # still inside the minute
    third = send_due(sessions, transport, SENDER, now=now + dt.timedelta(seconds=61),
                     batch=2000, per_minute=400)
    fourth = send_due(sessions, transport, SENDER, now=now + dt.timedelta(seconds=122),
                      batch=2000, per_minute=400)
    # a skipped (suppressed) mail takes its slot in the minute like a sent one
    assert (third.sent + third.suppressed, third.sent + fourth.sent) == (400, 594)
    assert third.suppressed + fourth.suppressed == 1
    transport.close()
    smtp.wait_for("r999@example.com")
    assert not smtp.to(waiting) and not smtp.to("r0@example.com")  # r0-r4: no consent
    assert len(smtp.to("r15@example.com")) == 1  # two leads, one mail
    assert not smtp.to("p0@example.com")  # unconfirmed
    mail = smtp.to("r500@example.com")[0]
    assert mail["Subject"] == "New: the SEO checklist"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "We made something." in text_part(mail)
    assert link(text_part(mail), "/r/").startswith("https://go.acme.example/r/")
    with sessions() as s:
        c = s.get_one(MailCampaign, campaign.id)
        assert (c.status, c.queued) == ("queued", 995)


def test_campaign_rules(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    org_id, magnet_id, other_id = _world(sessions, 30)
    actor = Actor.system("test")
    now = utcnow()
    with sessions() as s:
        with pytest.raises(CampaignError, match="line breaks"):
            schedule_campaign(s, org_id, actor, magnet_id=magnet_id, name="x",
                              subject="Hi\r\nBcc: a@b.c", scheduled_at=now)
        with pytest.raises(CampaignError, match="time zone"):
            schedule_campaign(s, org_id, actor, magnet_id=magnet_id, name="x", subject="s",
                              scheduled_at=dt.datetime(2030, 1, 1))
        with pytest.raises(NotFoundError):
            schedule_campaign(s, org_id, actor, magnet_id="mag_nope", name="x", subject="s",
                              scheduled_at=now)
        schedule_campaign(s, org_id, actor, magnet_id=magnet_id, name="seg", subject="s",
                          scheduled_at=now, segment={"magnet_ids": [other_id]})
        s.commit()
    settings = make_settings(tmp_path / "data")
    assert queue_due_campaigns(sessions, settings, now) == 10  # only the other magnet's


def test_campaign_through_the_api_and_the_click_redirect(env: Env) -> None:
    m = seed(env.sessions, "camp", experiment=False)
    with env.sessions() as s:
        s.add_all([Lead(org_id=m.org_id, magnet_id=m.id, email=f"c{i}@example.com",
                        confirmed_at=utcnow(), consents=CONSENT, visitor_id=f"visitor{i:04d}")
                   for i in range(3)])
        s.commit()
    r = env.client.post("/v1/campaigns", headers=_key(env, m.org_id), json={
        "magnet_id": m.id, "name": "Launch", "subject": "Fresh checklist",
        "scheduled_at": utcnow().isoformat()})
    assert r.status_code == 201, r.text
    (mail,) = env.smtp.wait_for("c1@example.com")  # the API's mail worker sent it
    url = link(text_part(mail), "/r/")
    go = env.client.get(path_of(url) + "?u=https://evil.example/", follow_redirects=False)
    assert go.status_code == 302
    target = go.headers["location"]
    # the signed target, not ?u= (no request in the worker: LODESTONE_API_URL as the base)
    assert target.startswith(f"{env.settings.api_url.rstrip('/')}{m.path}?")
    assert parse_qs(urlsplit(target).query) == {
        "utm_source": ["email"], "utm_medium": ["email"], "utm_campaign": ["launch"]}
    token = path_of(url).rsplit("/", 1)[1]
    evil = tokens.sign("another-secret", "click", {"o": m.org_id, "l": "x", "c": "x",
                                                   "u": "https://evil.example/"}, 600)
    for bad in (token[:-3] + "xyz", evil):
        r = env.client.get(f"/r/{bad}", follow_redirects=False)
        assert r.status_code == 400 and "location" not in r.headers
    rows = env.events(f"org_id = '{m.org_id}' AND event = 'click'")
    assert len(rows) == 1 and rows[0]["visitor_id"] == "visitor0001"
    assert (rows[0]["utm_source"], rows[0]["utm_medium"]) == ("email", "email")
