"""Erasure on the embedded lake and SQLite: every store emptied of the person, proven by the
byte scan; the record keeps counts and a keyed hash, not the person; Bob is untouched."""

from __future__ import annotations

import sqlalchemy as sa

from ingestion.frames import read_table
from kernel.metadata.audit import Actor
from kernel.metadata.models import AuditLog, PrivacyRequest
from kernel.settings import Settings
from kernel.warehouse import open_warehouse
from lodestone.services import session_factory
from privacy import requests, scan
from privacy.subject import subject_hash
from publishing.mail.outbox import suppression
from tests.privacy import person

NEEDLES = [person.EMAIL, person.VISITOR, person.SERVER_VISITOR]


def test_erasure_leaves_no_byte_of_the_person(settings: Settings) -> None:
    wh = open_warehouse(settings)
    ids = person.seed(settings, wh)
    org = ids["org_id"]
    assert {h.how for h in scan.scan_files(settings.data_path, NEEDLES)} >= {
        "raw", "parquet", "mail"}
    sessions = session_factory(settings)
    with sessions() as s:
        found = requests.find(s, wh, settings, org, Actor.system("test"), email=person.EMAIL.upper())
        req = requests.request(s, org, Actor.system("test"), settings, "erase",
                               email=person.EMAIL)
        s.commit()
        request_id = req.id
    assert found["lead_ids"] == [ids["lead_id"]]
    assert sorted(found["visitor_ids"]) == sorted([person.VISITOR, person.SERVER_VISITOR])
    c = found["counts"]
    assert (c["leads"], c["events"], c["spooled_events"], c["mail_messages"]) == (1, 7, 1, 1)
    assert (c["webhook_events"], c["webhook_deliveries"], c["mail_files"], c["artifacts"]) == (
        1, 1, 1, 1)
    assert c["mentions"] == 1  # the AI prompt
    assert c["suppressions"] == 1  # found by the blind index of her (encrypted) address

    steps = requests.run_erasure(sessions, settings, request_id, wh)
    assert steps["warehouse"] == {"events": 7}
    assert (steps["spool"], steps["artifacts"], steps["files"]) == (1, 1, 1)
    assert steps["metadata"] >= 6  # lead, mail, suppression, event, delivery + the AI prompt

    assert scan.scan_files(settings.data_path, NEEDLES) == []
    assert scan.scan_database(sessions.kw["bind"], NEEDLES) == []
    assert person.survivors(settings, wh, org) == {"leads": 1, "bob_events": 2}
    spooled = read_table(sorted(settings.spool_dir.glob("slot-*/*.sealed")))
    assert sorted(spooled.column("visitor_id").to_pylist()) == [person.OTHER_VISITOR] * 2
    with sessions() as s:
        assert suppression(s, org, person.EMAIL) is None
        assert suppression(s, org, person.OTHER_EMAIL) == "bounced"
        req = s.get_one(PrivacyRequest, request_id)
        assert (req.status, req.subject) == ("done", {})
        assert req.subject_hash == subject_hash(settings.secret_key, org,
                                                {"email": person.EMAIL})
        audit = s.scalars(sa.select(AuditLog).where(AuditLog.org_id == org,
                                                    AuditLog.action == "privacy.erased")).one()
        assert audit.after and audit.after["rows"]["warehouse"] == {"events": 7}
    # Idempotent: a second run changes nothing; an unknown email completes with zero rows.
    assert requests.run_erasure(sessions, settings, request_id, wh) == steps
    with sessions() as s:
        ghost = requests.request(s, org, Actor.system("test"), settings, "erase",
                                 email="nobody@example.com")
        s.commit()
    zero = requests.run_erasure(sessions, settings, ghost.id, wh)
    assert zero["metadata"] == zero["spool"] == zero["files"] == 0 and zero["warehouse"] == {}
    wh.close()
