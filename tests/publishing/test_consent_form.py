"""The opt-in form shows the organization's consent purposes and records each choice as a
consent record with the hash of the text shown; personal data in free-text answers is
redacted."""

from __future__ import annotations

import sqlalchemy as sa

from kernel.metadata.audit import Actor
from kernel.metadata.models import ConsentRecord, Lead
from leads import consent
from tests.publishing.conftest import Env, seed
from tests.publishing.pages import form_token, post, visit


def test_form_shows_purposes_and_records_consent(env: Env) -> None:
    m = seed(env.sessions, "consent")
    with env.sessions() as s:
        consent.create_purpose(s, m.org_id, Actor.system("test"), key="webinar_invites",
                               name="Webinars", text="Invite me to live webinars.")
        s.commit()
    c = env.client
    c.cookies.clear()
    page, _, _ = visit(c, m.path)
    assert 'name="consent_marketing_email"' in page
    assert 'name="consent_webinar_invites"' in page and "Invite me to live webinars." in page
    assert 'name="consent_analytics"' not in page  # not a form purpose
    r = post(c, m.path, form_token(page), email="grace@example.com",
             consent_webinar_invites="yes", field_company="Acme, call +1 415 555 2671")
    assert r.status_code == 303, r.text[:300]
    with env.sessions() as s:
        lead = s.scalars(sa.select(Lead).where(Lead.org_id == m.org_id)).one()
        records = {r.purpose: r for r in s.scalars(sa.select(ConsentRecord).where(
            ConsentRecord.org_id == m.org_id))}
        assert set(records) == {"marketing_email", "webinar_invites"}
        assert records["webinar_invites"].granted and not records["marketing_email"].granted
        assert {r.source for r in records.values()} == {"form"}
        assert records["webinar_invites"].proof == consent.proof_of("Invite me to live webinars.")
        assert consent.granted(s, lead, "webinar_invites")
        assert not consent.granted(s, lead, "marketing_email")
        # a phone number typed into a free-text answer is redacted (LODESTONE_PII_POLICY)
        assert lead.fields == {"company": "Acme, call [redacted:phone]"}
