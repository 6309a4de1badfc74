"""The compliance report: its numbers equal what was seeded (consent records, requests with
known durations, retention runs, recipients), the PDF's text carries the headings and those
numbers, and a name with markup is printed as text."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kernel.crypto import key_id
from kernel.metadata.audit import Actor, record
from kernel.metadata.db import make_engine, make_session_factory, migrate
from kernel.metadata.models import Organization, PrivacyRequest, WebhookEndpoint
from kernel.secret_file import parse_master_key
from kernel.settings import Settings, get_settings, settings_env
from leads import consent
from lodestone.cli import build_parser
from privacy import register, report, report_pdf
from tests.app_api.conftest import POSTGRES_URL, require_postgres
from tests.helpers import make_settings
from tests.metadata_db import postgres_schema_url

UTC = dt.UTC
SCRIPT = "<script>alert('x')</script>"


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def _settings(tmp_path: Path, metadata_url: str) -> Settings:
    return make_settings(tmp_path / "data", smtp_url="smtp://user:pw@smtp.example.net:587",
                         artifacts_url="s3://lodestone-artifacts/prod",
                         openai_base_url="http://127.0.0.1:9/v1", metadata_url=metadata_url)


def seed(s: Session) -> str:
    """An organization with known consent records, requests, retention runs and hooks."""
    org = Organization(name=f"Acme {SCRIPT}", slug="acme-report")
    s.add(org)
    s.flush()
    add = consent.record_consent
    # marketing_email: v1 granted, v2 declined, v3 granted then withdrawn, v4 granted
    # before the period and withdrawn in it; a grant after the period is not counted.
    for visitor, granted, when in (("v1", True, at(10)), ("v2", False, at(11)),
                                   ("v3", True, at(12)), ("v3", False, at(20)),
                                   ("v4", True, at(1) - dt.timedelta(days=30)),
                                   ("v4", False, at(21)),
                                   ("v5", True, at(1) + dt.timedelta(days=45))):
        rec = add(s, org.id, purpose="marketing_email", granted=granted, source="form",
                  visitor_id=visitor)
        rec.created_at = when
    rec = add(s, org.id, purpose="analytics", granted=True, source="banner", visitor_id="v1")
    rec.created_at = at(10)
    # two completed requests of known durations, one still open, one outside the period
    for kind, status, received, done in (
            ("export", "done", at(5, 9), at(5, 9, 1, 30)),        # 90 s
            ("erase", "done", at(6, 10), at(6, 12, 30)),          # 9000 s
            ("erase", "pending", at(25), None),
            ("erase", "done", at(1) - dt.timedelta(days=40), at(1) - dt.timedelta(days=39))):
        s.add(PrivacyRequest(org_id=org.id, kind=kind, status=status, subject={},
                             subject_hash="0" * 64, requested_by="test", created_at=received,
                             completed_at=done))
    for when, events, leads in ((at(3, 3, 17), 120, 4), (at(4, 3, 17), 30, 0),
                                (at(1) - dt.timedelta(days=2), 999, 99)):
        entry = record(s, org_id=org.id, actor=Actor.system("retention"),
                       action="retention.applied", resource_type="retention_policy",
                       resource_id=None, after={"at": when.isoformat(), "events": events,
                                                "leads": leads})
        entry.created_at = when
    s.add_all([
        WebhookEndpoint(org_id=org.id, url="https://hook-user:hook-pw@crm.example.com:8443/in",
                        description=f"CRM {SCRIPT}", event_types=["lead.created"]),
        WebhookEndpoint(org_id=org.id, url="https://old.example.org/x", is_active=False)])
    s.flush()
    return org.id


@pytest.fixture
def seeded(request: pytest.FixtureRequest,
           tmp_path: Path) -> Iterator[tuple[Settings, Session, str]]:
    """Settings, a session and the seeded organization; SQLite unless parametrized with
    ``postgresql`` (a schema of its own)."""
    with ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'meta.db'}"
        if getattr(request, "param", "sqlite") == "postgresql":
            require_postgres()
            url = stack.enter_context(postgres_schema_url(POSTGRES_URL, prefix="lodestone_rpt"))
        settings = _settings(tmp_path, url)
        engine = make_engine(url)
        stack.callback(engine.dispose)
        migrate(engine)
        with make_session_factory(engine)() as s:
            org_id = seed(s)
            s.commit()
            yield settings, s, org_id


@pytest.mark.parametrize("seeded", ["sqlite", pytest.param("postgresql",
                                                           marks=pytest.mark.postgres)],
                         indirect=True)
def test_numbers_equal_what_was_seeded(seeded: tuple[Settings, Session, str]) -> None:
    settings, s, org_id = seeded
    r = report.build(s, org_id, settings, dt.date(2026, 3, 1), dt.date(2026, 3, 31),
                     now=at(31, 18))
    assert r["period"] == {"start": "2026-03-01", "end": "2026-03-31"}
    purposes = {p["key"]: p for p in r["purposes"]}
    mail = purposes["marketing_email"]
    assert (mail["shown"], mail["granted"], mail["declined"], mail["withdrawn"]) == (3, 2, 1, 2)
    assert mail["consent_rate"] == pytest.approx(0.6667) and mail["granted_at_end"] == 1
    assert (purposes["analytics"]["shown"], purposes["analytics"]["consent_rate"]) == (1, 1.0)
    assert purposes["partner_sharing"]["shown"] == 0
    assert purposes["partner_sharing"]["consent_rate"] is None
    kinds = r["requests"]["by_kind"]
    assert kinds["export"] == {"received": 1, "completed": 1, "failed": 0, "open": 0,
                               "median_seconds": 90.0, "max_seconds": 90.0}
    assert kinds["erase"] == {"received": 2, "completed": 1, "failed": 0, "open": 1,
                              "median_seconds": 9000.0, "max_seconds": 9000.0}
    assert len(r["requests"]["requests"]) == 3
    ret = r["retention"]
    assert (ret["runs"], ret["events_removed"], ret["leads_removed"]) == (2, 150, 4)
    hosts = {(x["kind"], x["host"], x["active"]) for x in r["recipients"]}
    assert hosts == {("webhook endpoint", "crm.example.com:8443", True),
                     ("webhook endpoint", "old.example.org", False),
                     ("SMTP relay", "smtp.example.net:587", True),
                     ("S3 artifact store", "lodestone-artifacts", True),
                     ("AI endpoint (OpenAI-compatible)", "127.0.0.1:9", True)}
    text = json.dumps(r)
    assert "hook-pw" not in text and "user:pw" not in text  # hosts, never credentials
    sec = r["security"]
    assert sec["encryption_at_rest"]["master_key_id"] == key_id(
        parse_master_key(settings.master_key))
    assert "leads.email" in sec["encryption_at_rest"]["fields"]
    assert sec["pii_policy"] == {"installation": "redact", "organization": "redact"}
    assert sec["tracking"] == {"consent_mode": "cookieless", "cookieless_ids": True}
    assert sec["ip_handling"]["salt_lifetime_hours"] == 48
    assert sec["sessions"]["session_ttl_seconds"] == settings.api_session_ttl_s
    # the derived register names the active endpoint and the configured services
    activities = r["processing_activities"]
    assert activities["source"] == "default"
    names = [a["name"] for a in activities["data"]]
    assert "Website analytics" in names and "AI-assisted content drafting" in names
    hooks = next(a for a in activities["data"] if "webhooks" in a["name"])
    assert hooks["recipients"] == [f"Webhook endpoint crm.example.com:8443 "
                                   f"({_endpoint_id(s, org_id)})"]
    with pytest.raises(report.ReportError, match="before start"):
        report.build(s, org_id, settings, dt.date(2026, 3, 2), dt.date(2026, 3, 1))


def _endpoint_id(s: Session, org_id: str) -> str:
    return next(h.id for h in s.query(WebhookEndpoint).filter_by(org_id=org_id, is_active=True))


def _pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout


def test_pdf_carries_headings_numbers_and_markup_as_text(
        seeded: tuple[Settings, Session, str], tmp_path: Path) -> None:
    settings, s, org_id = seeded
    register.create(s, org_id, Actor.system("test"), settings, {
        "name": f"Partner export {SCRIPT}", "purpose": "Share with <b>partners</b>",
        "legal_basis": "consent", "consent_purpose": "partner_sharing",
        "recipients": ["Partner Ltd"], "transfers": [
            {"recipient": "Partner Ltd", "country": "United States",
             "safeguard": "standard contractual clauses"}]})
    s.commit()
    r = report.build(s, org_id, settings, dt.date(2026, 3, 1), dt.date(2026, 3, 31),
                     now=at(31, 18))
    html = report_pdf.html(r)
    assert SCRIPT not in html and "&lt;script&gt;" in html  # autoescaped
    pdf = report_pdf.pdf(r)
    assert pdf.startswith(b"%PDF")
    text = _pdftotext(pdf, tmp_path)
    flat = " ".join(text.split())
    for heading in ("Compliance report", "Record of processing activities",
                    "Consent per purpose", "Data-subject requests", "Retention applied",
                    "Recipients and sub-processors", "Security measures in force"):
        assert heading in flat, heading
    assert "2026-03-01 to 2026-03-31" in flat
    assert "66.7 %" in flat                        # marketing_email: 2 of 3
    assert "1 min 30 s" in flat and "2 h 30 min" in flat  # the two durations
    assert "150 events, 4 unconfirmed leads" in flat
    assert "crm.example.com:8443" in flat and "smtp.example.net:587" in flat
    assert "standard contractual clauses" in flat
    assert "<script>alert('x')</script>" in flat  # printed as text, not run or dropped
    assert "Partner export" in flat and "<b>partners</b>" in flat
    assert "Page 1 of" in flat


def test_cli_writes_json_and_pdf(seeded: tuple[Settings, Session, str], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    settings, _, _ = seeded
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()

    def cli(*argv: str) -> int:  # in-process: a subprocess per call costs seconds of imports
        args = build_parser().parse_args(["privacy", "report", *argv])
        return int(args.func(args))

    out_json, out_pdf = tmp_path / "r.json", tmp_path / "r.pdf"
    try:
        for out in (out_json, out_pdf):
            assert cli("--org", "acme-report", "--start", "2026-03-01", "--end", "2026-03-31",
                       "--out", str(out)) == 0
        assert cli("--org", "nope", "--out", str(tmp_path / "x.json")) == 2
        assert cli("--org", "acme-report", "--out", str(tmp_path / "x.txt")) == 2
        with pytest.raises(SystemExit):
            cli("--start", "March", "--out", str(out_json))
    finally:
        get_settings.cache_clear()
    data = json.loads(out_json.read_text())
    assert data["requests"]["by_kind"]["erase"]["max_seconds"] == 9000.0
    assert data["period"] == {"start": "2026-03-01", "end": "2026-03-31"}
    assert out_pdf.read_bytes().startswith(b"%PDF")
    err = capsys.readouterr().err
    assert "no organization 'nope'" in err and "must end in .pdf or .json" in err
    assert "is not a date" in err
