"""lead.created and lead.confirmed from a landing-page opt-in reach a receiver, signed
(Standard Webhooks), and the mail worker's lease brings back a crashed worker's claim."""

from __future__ import annotations

import datetime as dt

from standardwebhooks.webhooks import Webhook

from kernel.metadata.models import WebhookEndpoint
from kernel.metadata.types import utcnow
from publishing.mail.outbox import queue_mail
from publishing.mail.sender import SmtpTransport
from publishing.mail.worker import LEASE, _claim, send_due
from tests.app_api.receiver import running_receiver
from tests.publishing.conftest import Env, seed
from tests.publishing.pages import form_token, link, path_of, post, text_part, visit
from webhooks.worker import deliver_due


def test_opt_in_webhooks_are_delivered_signed(env: Env) -> None:
    m = seed(env.sessions, "hooks", experiment=False)
    with running_receiver() as receiver, env.sessions() as s:
        endpoint = WebhookEndpoint(org_id=m.org_id, url=receiver.url("/hook"),
                                   event_types=["lead.created", "lead.confirmed"])
        s.add(endpoint)
        s.commit()
        c = env.client
        c.cookies.clear()
        page, _, _ = visit(c, m.path)
        post(c, m.path, form_token(page), email="hook@example.com", name="Hook", json=True)
        (mail,) = env.smtp.wait_for("hook@example.com")
        assert c.get(path_of(link(text_part(mail), "/c/"))).status_code == 200
        deliver_due(env.sessions, allow_private=True)
        got = receiver.at("/hook")
        payloads = [Webhook(endpoint.secret).verify(r.body, r.headers) for r in got]
    by_type = {p["type"]: p["data"]["lead"] for p in payloads}  # sent concurrently
    assert len(payloads) == 2 and set(by_type) == {"lead.created", "lead.confirmed"}
    created, confirmed = by_type["lead.created"], by_type["lead.confirmed"]
    assert created["email"] == "hook@example.com" and created["confirmed_at"] is None
    assert confirmed["id"] == created["id"] and confirmed["confirmed_at"]


def test_a_crashed_workers_claim_is_sent_after_the_lease(env: Env) -> None:
    later = utcnow() + dt.timedelta(days=1)  # past the live worker's reach: it sends "now"
    with env.sessions() as s:
        m = seed(env.sessions, "lease", experiment=False)
        mail = queue_mail(s, m.org_id, kind="campaign", to_addr="lease@example.com",
                          subject="s", text_body="t", html_body="<p>h</p>")
        # due only tomorrow from the moment it exists: committed as due now, the live worker
        # could claim and send it before this test moved it (a race seen under load)
        mail.next_attempt_at = later
        s.commit()
    claimed, _ = _claim(env.sessions, later, 10, 600)  # a worker claims, then dies
    assert mail.id in claimed
    smtp = SmtpTransport(f"smtp://127.0.0.1:{env.smtp.port}")
    assert send_due(env.sessions, smtp, "a <a@b.c>", now=later).sent == 0  # leased
    out = send_due(env.sessions, smtp, "a <a@b.c>", now=later + LEASE)
    assert out.sent == 1
    env.smtp.wait_for("lease@example.com")
    smtp.close()
