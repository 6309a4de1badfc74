"""A real app (collector, spool, lake, mail worker) and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from app_api.main import create_app
from kernel.metadata.db import make_engine, migrate
from kernel.metadata.enums import ConsentMode, ExperimentStatus, MagnetStatus, MagnetType
from kernel.metadata.models import (
    Experiment,
    LeadMagnet,
    MagnetVariant,
    Organization,
    Site,
)
from kernel.settings import Settings
from kernel.warehouse.lake_backend import LakeWarehouse
from tests.helpers import free_port, make_settings


class Inbox:
    """aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"

    def wait_for(self, to: str, count: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = [m for rcpt, m in self.messages if to in rcpt]
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{count} mail(s) to {to} did not arrive within {timeout} s; "
                             f"got {len(got)}")

    def to(self, addr: str) -> list[EmailMessage]:
        with self.lock:
            return [m for rcpt, m in self.messages if addr in rcpt]


@pytest.fixture(scope="module")
def smtp() -> Iterator[Inbox]:
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class Magnet:
    org_id: str
    org_slug: str
    id: str
    slug: str
    experiment: str = ""

    @property
    def path(self) -> str:
        return f"/m/{self.org_slug}/{self.slug}"


@dataclass
class Env:
    client: TestClient
    settings: Settings
    smtp: Inbox
    sessions: Any
    magnets: dict[str, Magnet] = field(default_factory=dict)

    def events(self, where: str, timeout: float = 15.0, count: int = 1) -> list[dict[str, Any]]:
        """Rows of the lake matching ``where``, waiting until the shipper got them."""
        wh = LakeWarehouse(self.settings.lake_dir)
        deadline = time.monotonic() + timeout
        rows: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            try:
                rows = wh.query(f"SELECT * FROM {{{{ source('events') }}}} WHERE {where}")
            except Exception:  # the lake has no table until the first shipment
                rows = []
            if len(rows) >= count:
                return rows
            time.sleep(0.2)
        return rows


def seed(sessions: Any, name: str, *, double_opt_in: bool = True,
         experiment: bool = True, promoted_winner: str = "",
         status: MagnetStatus = MagnetStatus.PUBLISHED,
         content: dict[str, Any] | None = None,
         consent_mode: ConsentMode = ConsentMode.FIRST_PARTY) -> Magnet:
    slug = f"{name}-{secrets.token_hex(3)}"
    with sessions() as s:
        org = Organization(name=f"{name.title()} Press", slug=slug, consent_mode=consent_mode)
        s.add(org)
        s.flush()
        site = Site(org_id=org.id, name="Blog", allowed_origins=["https://blog.example"])
        s.add(site)
        s.flush()
        magnet = LeadMagnet(
            org_id=org.id, site_id=site.id, name="SEO Checklist", slug="seo-checklist",
            type=MagnetType("checklist"), status=status, double_opt_in=double_opt_in,
            content=content or {
                "title": "The 27-point SEO checklist",
                "subtitle": "Everything to check before you publish a page.",
                "benefits": ["Find the 5 fixes that matter most", "A printable one-pager",
                             "Used by 1,200 editors"],
                "fields": [{"key": "company", "label": "Company", "max_length": 100}],
            })
        magnet.variants.append(MagnetVariant(org_id=org.id, key="A", name="Control",
                                             is_control=True))
        magnet.variants.append(MagnetVariant(
            org_id=org.id, key="B", name="Question",
            content={"headline": "Is your page ready for Google?"}))
        s.add(magnet)
        s.flush()
        key = ""
        if experiment:
            key = f"headline-{secrets.token_hex(3)}"
            s.add(Experiment(
                org_id=org.id, magnet_id=magnet.id, key=key, name="Headline",
                variants=[{"key": "A", "weight": 0.5}, {"key": "B", "weight": 0.5}],
                status=ExperimentStatus.PROMOTED if promoted_winner else ExperimentStatus.RUNNING,
                winner=promoted_winner or None))
        s.commit()
        return Magnet(org.id, slug, magnet.id, magnet.slug, key)


def publishing_settings(data_dir: Path, smtp_port: int, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "smtp_url": f"smtp://127.0.0.1:{smtp_port}", "optin_min_fill_s": 0.0,
        "webhooks_worker": False, "api_rate_limit_per_minute": 100_000,
        "optin_per_minute": 1000, "spool_seal_ms": 50.0, "ship_interval_ms": 50}
    values.update(overrides)
    return make_settings(data_dir, **values)


@pytest.fixture(scope="module")
def env(smtp: Inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    data = tmp_path_factory.mktemp("publishing")
    settings = publishing_settings(data, smtp.port)
    engine = make_engine(settings.resolved_metadata_url)
    migrate(engine)
    engine.dispose()
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        state = client.app.state.lodestone  # type: ignore[attr-defined]
        yield Env(client, settings, smtp, state.sessions)


def count(sessions: Any, stmt: Any) -> int:
    with sessions() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(stmt)) or 0)
