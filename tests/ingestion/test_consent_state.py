"""The collector's copy of the analytics consent records (ingestion.consent.ConsentState):
another process's grant or withdrawal is read by the next tail (each second in the
collector), a record committed late with an older created_at still counts, a record given
for a lead covers the lead's visitor id, and the newest record wins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa

from ingestion.consent import ConsentState
from kernel.metadata.audit import Actor
from kernel.metadata.db import make_engine, make_session_factory, migrate
from kernel.metadata.enums import MagnetStatus, MagnetType
from kernel.metadata.models import ConsentRecord, LeadMagnet, Organization
from leads import consent
from leads.service import create_lead
from tests.metadata_db import postgres_schema_url, postgres_unavailable_reason


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with ExitStack() as stack:
        yield stack.enter_context(postgres_schema_url())


def test_tail_reads_other_processes_records(url: str) -> None:
    engine = make_engine(url)
    migrate(engine)
    sessions = make_session_factory(engine)
    with sessions() as s:  # "the API process"
        org = Organization(name="Acme", slug="acme")
        s.add(org)
        s.flush()
        magnet = LeadMagnet(org_id=org.id, name="M", slug="m", type=MagnetType("checklist"),
                            status=MagnetStatus.PUBLISHED, content={"title": "T"})
        s.add(magnet)
        s.flush()
        org_id = org.id
        consent.record_consent(s, org_id, purpose="analytics", granted=True, source="api",
                               visitor_id="v-early")
        s.commit()
    state = ConsentState(sessions)  # "a collector": starts with what is there
    state.load()
    assert (state.get(org_id, "v-early"), state.get(org_id, "v-other")) == (True, None)

    with sessions() as s:
        consent.withdraw(s, org_id, Actor.system("test"), purpose="analytics", source="api",
                         visitor_id="v-early")
        consent.record_consent(s, org_id, purpose="marketing_email", granted=True,
                               source="api", visitor_id="v-other")  # another purpose
        lead = create_lead(s, org_id, Actor.system("test"), magnet_id=magnet.id,
                           email="ada@example.com", visitor_id="v-lead")
        consent.record_consent(s, org_id, purpose="analytics", granted=True, source="form",
                               lead_id=lead.id)
        s.commit()
    assert state.granted(org_id, "v-early")  # not read yet: no listener across processes
    state.tail()
    assert state.get(org_id, "v-early") is False
    assert state.get(org_id, "v-other") is None
    assert state.granted(org_id, "v-lead")  # the lead's record covers its visitor id

    # Committed late: its created_at is older than the newest record read, within the window.
    with sessions() as s:
        rec = consent.record_consent(s, org_id, purpose="analytics", granted=True,
                                     source="banner", visitor_id="v-late")
        s.execute(sa.update(ConsentRecord).where(ConsentRecord.id == rec.id).values(
            created_at=rec.created_at - dt.timedelta(seconds=20)))
        s.commit()
    state.tail()
    assert state.granted(org_id, "v-late") and len(state) == 3
    engine.dispose()
