"""Personal data at rest: no email in the SQLite file or in any PostgreSQL column after an
opt-in, a suppression and a team account; lookup and uniqueness through the blind index
(across organizations for team accounts); master-key rotation; a wrong master key refused
with a clear message; the migrations encrypt rows written before them (and the suppression
list's and team accounts' downgrades decrypt them back)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kernel.crypto import account_email_indexes, keyring_for_settings, master_key_problem, rotate
from kernel.errors import ConflictError
from kernel.metadata.audit import Actor
from kernel.metadata.db import downgrade, make_engine, make_session_factory, migrate
from kernel.metadata.enums import MagnetStatus, MagnetType
from kernel.metadata.models import (
    Lead,
    LeadMagnet,
    MailMessage,
    MailSuppression,
    Organization,
    OrgDataKey,
    User,
)
from kernel.settings import Settings
from leads.service import create_lead, find_lead_ids_by_email
from publishing.mail.outbox import lift_unsubscribe, queue_mail, suppress, suppression
from tests.helpers import make_settings

EMAIL, NAME, ANSWER = "Ada.Lovelace@Example.com", "Ada Lovelace", "Analytical Engines Ltd"
BOUNCED = "Charles.Babbage@Difference.example"  # on the suppression list only, never a lead
TEAM = "Grace.Hopper@Navy.example"  # a team account's email (users), never a lead
ACTOR = Actor.system("test")


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _opt_in(engine: Engine, settings: Settings) -> tuple[str, str]:
    sessions = make_session_factory(engine, settings)
    with sessions() as s:
        org = Organization(name="Acme", slug="acme")
        s.add(org)
        s.flush()
        magnet = LeadMagnet(org_id=org.id, name="M", slug="m", type=MagnetType("checklist"),
                            status=MagnetStatus.PUBLISHED)
        s.add(magnet)
        s.flush()
        lead = create_lead(s, org.id, ACTOR, magnet_id=magnet.id, email=EMAIL, name=NAME,
                           fields={"company": ANSWER})
        queue_mail(s, org.id, kind="confirm", to_addr=lead.email, to_name=lead.name or "",
                   lead_id=lead.id, subject="Confirm", text_body=f"Hi {NAME}",
                   html_body=f"<p>Hi {NAME}</p>")
        suppress(s, org.id, BOUNCED, "bounced")
        suppress(s, org.id, EMAIL, "unsubscribed")
        s.add(User(org_id=org.id, email=TEAM, name="Grace"))
        s.commit()
        return org.id, magnet.id


def _accounts(s: sa.orm.Session, email: str) -> list[str]:
    """Org ids of the team accounts of ``email``, as sign-in finds them (one query)."""
    return sorted(s.scalars(sa.select(User.org_id).where(
        User.email_index.in_(account_email_indexes(s, email)))))


def _text_columns(engine: Engine) -> list[str]:
    """Every value of every non-binary column, as text."""
    out = []
    with engine.connect() as c:
        for table in sa.inspect(engine).get_table_names():
            for col in sa.inspect(engine).get_columns(table):
                if isinstance(col["type"], sa.LargeBinary):
                    continue
                q = sa.text(f'SELECT CAST("{col["name"]}" AS TEXT) FROM "{table}"')
                out += [str(v) for v in c.execute(q).scalars() if v is not None]
    return out


def test_no_personal_data_at_rest_and_lookup_by_blind_index(metadata_url: str,
                                                             tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    engine = make_engine(metadata_url)
    migrate(engine)
    try:
        org_id, magnet_id = _opt_in(engine, settings)
        with make_session_factory(engine, settings)() as s:  # the same person in a 2nd org
            other = Organization(name="Beta", slug="beta")
            s.add(other)
            s.flush()
            s.add(User(org_id=other.id, email=f" {TEAM.upper()} ", name="Grace"))
            s.commit()
            other_id = other.id
        values = "\n".join(_text_columns(engine)).lower()
        for secret in (EMAIL, NAME, ANSWER, BOUNCED, TEAM, "hopper"):
            assert secret.lower() not in values
        if metadata_url.startswith("sqlite"):
            engine.dispose()  # the WAL is checkpointed too; scan every file of the database
            db = Path(sa.make_url(metadata_url).database or "")
            raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*")).lower()
            for secret in (EMAIL, NAME, ANSWER, "lovelace", BOUNCED, "babbage", TEAM, "hopper"):
                assert secret.lower().encode() not in raw
        with make_session_factory(engine, settings)() as s:
            [lead_id] = find_lead_ids_by_email(s, org_id, " ada.lovelace@EXAMPLE.com ")
            lead = s.get_one(Lead, lead_id)
            assert (lead.email, lead.name, lead.fields) == (EMAIL.lower(), NAME,
                                                            {"company": ANSWER})
            assert find_lead_ids_by_email(s, org_id, "someone@else.example") == []
            assert find_lead_ids_by_email(s, "org_unknown", EMAIL) == []
            mail = s.scalars(sa.select(MailMessage)).one()
            assert (mail.to_addr, mail.text_body) == (EMAIL.lower(), f"Hi {NAME}")
            with pytest.raises(ConflictError):
                create_lead(s, org_id, ACTOR, magnet_id=magnet_id, email=EMAIL.upper())
            s.rollback()
            with pytest.raises(TypeError, match="encrypted"):
                sa.select(Lead).where(Lead.email == EMAIL)
            # the suppression list: found by blind index, one row per address
            assert suppression(s, org_id, f" {BOUNCED.upper()} ") == "bounced"
            assert suppression(s, org_id, EMAIL) == "unsubscribed"
            assert suppression(s, org_id, "someone@else.example") is None
            assert suppression(s, "org_unknown", BOUNCED) is None
            assert {r.email for r in s.scalars(sa.select(MailSuppression))} == {
                BOUNCED.lower(), EMAIL.lower()}
            s.add(MailSuppression(org_id=org_id, email=BOUNCED.title(), reason="complained"))
            with pytest.raises(sa.exc.IntegrityError):
                s.flush()
            s.rollback()
            lift_unsubscribe(s, org_id, EMAIL.upper())
            assert suppression(s, org_id, EMAIL) is None
            with pytest.raises(TypeError, match="encrypted"):
                sa.select(MailSuppression).where(MailSuppression.email == BOUNCED)
            # team accounts: one query finds an address in every organization
            assert _accounts(s, f"  {TEAM.lower()}") == sorted([org_id, other_id])
            assert _accounts(s, EMAIL) == []
            assert {u.email for u in s.scalars(sa.select(User))} == {TEAM.lower()}
            s.add(User(org_id=other_id, email=TEAM.swapcase()))
            with pytest.raises(sa.exc.IntegrityError):  # still unique per organization
                s.flush()
            s.rollback()
            with pytest.raises(TypeError, match="encrypted"):
                sa.select(User).where(User.email == TEAM)
            if metadata_url.startswith("sqlite"):  # sign-in's lookup is an index search
                plan = " ".join(str(r[-1]) for r in s.execute(sa.text(
                    "EXPLAIN QUERY PLAN SELECT id FROM users WHERE email_index IN (:a, :b)"),
                    {"a": "x", "b": "y"}))
                assert "USING INDEX ix_users_email_index" in plan, plan
    finally:
        engine.dispose()


def test_rotation_keeps_rows_readable_and_a_wrong_key_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rot.db'}"
    old, new = _key(), _key()
    first = make_settings(tmp_path / "data", master_key=old, metadata_url=url)
    engine = make_engine(url)
    migrate(engine)
    org_id, _ = _opt_in(engine, first)
    both = make_settings(tmp_path / "data", master_key=new, master_keys_old=old,
                         metadata_url=url)
    assert master_key_problem(both) is None
    with make_session_factory(engine, both)() as s:  # readable before the rotation
        assert s.scalars(sa.select(Lead)).one().email == EMAIL.lower()
        assert rotate(s, keyring_for_settings(both)) == 1
        s.commit()
        assert rotate(s, keyring_for_settings(both)) == 0  # idempotent
        assert s.scalar(sa.select(OrgDataKey.master_key_id)) == keyring_for_settings(both).current_id
    only_new = make_settings(tmp_path / "data", master_key=new, metadata_url=url)
    with make_session_factory(engine, only_new)() as s:  # a fresh process: new key only
        keyring_for_settings(only_new)._cache.clear()
        assert s.scalars(sa.select(Lead)).one().name == NAME
        assert find_lead_ids_by_email(s, org_id, EMAIL)
        assert _accounts(s, TEAM) == [org_id]  # the account index was re-computed
    only_old = make_settings(tmp_path / "data", master_key=old, metadata_url=url)
    problem = master_key_problem(only_old)
    assert problem and problem.startswith("wrong master key") and "LODESTONE_MASTER_KEY" in problem
    engine.dispose()


def test_wrong_master_key_stops_the_server_at_start_up(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from kernel.settings import get_settings
    from lodestone.cli import main

    data = tmp_path / "data"
    url = f"sqlite:///{tmp_path / 'start.db'}"
    engine = make_engine(url)
    migrate(engine)
    _opt_in(engine, make_settings(data, master_key=_key(), metadata_url=url))
    engine.dispose()
    for key in [k for k in os.environ if k.startswith("LODESTONE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("LODESTONE_ENV", "test")
    monkeypatch.setenv("LODESTONE_SECRET_KEY", "test-secret-0123456789abcdef")
    monkeypatch.setenv("LODESTONE_DATA_DIR", str(data))
    monkeypatch.setenv("LODESTONE_METADATA_URL", url)
    monkeypatch.setenv("LODESTONE_MASTER_KEY", _key())
    get_settings.cache_clear()
    try:
        assert main(["serve", "--port", "1"]) == 2
        assert main(["keys", "check"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "wrong master key" in err and "LODESTONE_MASTER_KEYS_OLD" in err


def test_migration_encrypts_existing_rows_and_drops_plain_text(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from kernel.settings import get_settings

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    migrate(engine, "builds")
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO organizations (id, name, slug, consent_mode, settings, "
                          "config_revision) VALUES ('org_1', 'A', 'a', 'cookieless', '{}', 0)"))
        c.execute(sa.text("INSERT INTO lead_magnets (id, org_id, name, slug, type, status, "
                          "content, design, lead_value, double_opt_in, content_version) VALUES "
                          "('mag_1', 'org_1', 'M', 'm', 'checklist', 'draft', '{}', '{}', 0, 1, 1)"))
        c.execute(sa.text("INSERT INTO leads (id, org_id, magnet_id, email, name, fields, utm, "
                          "consent, consents) VALUES ('lead_1', 'org_1', 'mag_1', "
                          "'old@example.com', 'Old Timer', '{\"a\": 1}', '{}', 0, '[]')"))
    for key in [k for k in os.environ if k.startswith("LODESTONE_")]:
        monkeypatch.delenv(key)  # (another test module's session fixture may have set them)
    settings = make_settings(tmp_path / "data")
    monkeypatch.setenv("LODESTONE_ENV", "test")
    monkeypatch.setenv("LODESTONE_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("LODESTONE_DATA_DIR", str(settings.data_path))
    get_settings.cache_clear()
    try:
        migrate(engine)
    finally:
        get_settings.cache_clear()
    columns = {c["name"] for c in sa.inspect(engine).get_columns("leads")}
    assert {"email", "name", "fields"}.isdisjoint(columns) and "email_ct" in columns
    with make_session_factory(engine, settings)() as s:
        lead = s.get_one(Lead, "lead_1")
        assert (lead.email, lead.name, lead.fields) == ("old@example.com", "Old Timer", {"a": 1})
        assert find_lead_ids_by_email(s, "org_1", "OLD@example.com") == ["lead_1"]
    engine.dispose()
    assert b"old@example.com" not in Path(tmp_path / "old.db").read_bytes()


def test_suppression_and_users_migrations_encrypt_and_downgrade_decrypts(
        metadata_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kernel.settings import get_settings

    engine = make_engine(metadata_url)
    migrate(engine, "retention_regions")
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO organizations (id, name, slug, consent_mode, settings, "
                          "config_revision) VALUES ('org_1', 'A', 'a', 'cookieless', '{}', 0)"))
        c.execute(sa.text("INSERT INTO users (id, org_id, email, name) "
                          "VALUES ('usr_1', 'org_1', 'team@example.com', 'T')"))
        for i, (email, reason) in enumerate([("Gone@Example.com", "unsubscribed"),
                                             (" gone@example.com", "bounced"),
                                             ("left@example.com", "unsubscribed")]):
            c.execute(sa.text("INSERT INTO mail_suppressions (id, org_id, email, reason) "
                              "VALUES (:id, 'org_1', :e, :r)"),
                      {"id": f"sup_{i}", "e": email, "r": reason})
    for key in [k for k in os.environ if k.startswith("LODESTONE_")]:
        monkeypatch.delenv(key)  # (another test module's session fixture may have set them)
    settings = make_settings(tmp_path / "data", metadata_url=metadata_url)
    monkeypatch.setenv("LODESTONE_ENV", "test")
    monkeypatch.setenv("LODESTONE_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("LODESTONE_DATA_DIR", str(settings.data_path))
    get_settings.cache_clear()
    try:
        migrate(engine)
        assert "email" not in {c["name"] for c in sa.inspect(engine).get_columns(
            "mail_suppressions")}
        assert "example.com" not in "\n".join(_text_columns(engine))
        with make_session_factory(engine, settings)() as s:
            # the two spellings of one address became one row, the bounce kept
            assert sorted((r.email, r.reason) for r in s.scalars(sa.select(MailSuppression))) \
                == [("gone@example.com", "bounced"), ("left@example.com", "unsubscribed")]
            assert suppression(s, "org_1", "GONE@example.com") == "bounced"
            assert s.get_one(User, "usr_1").email == "team@example.com"
            assert _accounts(s, "Team@Example.com") == ["org_1"]
        downgrade(engine, "retention_regions")
        with engine.connect() as c:
            assert sorted(c.execute(sa.text("SELECT email, reason FROM mail_suppressions"))) \
                == [("gone@example.com", "bounced"), ("left@example.com", "unsubscribed")]
            assert c.execute(sa.text("SELECT email FROM users")).scalar() == "team@example.com"
    finally:
        get_settings.cache_clear()
        engine.dispose()
