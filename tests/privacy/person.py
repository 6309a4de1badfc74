"""A person seeded through every store (used in-process and by child processes: chDB allows
one data directory per process), and the checks an erasure must pass."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa

from content.artifacts import ArtifactStore
from ingestion.columns import rows_to_block
from ingestion.spool import Spool
from kernel.events import make_row, rows_to_arrow
from kernel.metadata.audit import Actor
from kernel.metadata.enums import JobStatus, MagnetType
from kernel.metadata.models import (
    AIGeneration,
    Artifact,
    Build,
    Job,
    Lead,
    LeadMagnet,
    MailMessage,
    Organization,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from kernel.settings import Settings
from kernel.warehouse import Warehouse
from leads import service
from lodestone.services import init_storage, session_factory
from publishing.mail.outbox import suppress
from publishing.mail.sender import FolderTransport

EMAIL = "alice.erasable@example.com"
VISITOR = "v-alice-7f3c9d"  # on her lead
SERVER_VISITOR = "srv-alice-91ab"  # only on a server event whose props carry her email
OTHER_EMAIL = "bob.keeps@example.com"
OTHER_VISITOR = "v-bob-22aa71"
T0 = 1_767_225_600_000  # 2026-01-01 in ms


def _events(org: str) -> list[tuple[Any, ...]]:
    rows = [make_row(org_id=org, event="pageview", visitor_id=VISITOR, ts=T0 + i * 1000,
                     received_at=T0 + i * 1000, url="https://example.com/p") for i in range(5)]
    rows.append(make_row(org_id=org, event="lead", visitor_id=VISITOR, ts=T0 + 9000,
                         received_at=T0 + 9000, props=json.dumps({"form": "hero"})))
    rows.append(make_row(org_id=org, event="custom", visitor_id=SERVER_VISITOR, ts=T0 + 9500,
                         received_at=T0 + 9500, props=json.dumps({"email": EMAIL.upper()})))
    rows += [make_row(org_id=org, event="pageview", visitor_id=OTHER_VISITOR,
                      ts=T0 + i * 700, received_at=T0 + i * 700) for i in range(4)]
    return rows


def seed(settings: Settings, wh: Warehouse) -> dict[str, Any]:
    """An organization with Alice in every store and Bob beside her (who must survive)."""
    init_storage(settings)
    wh.migrate()
    sessions = session_factory(settings)
    store = ArtifactStore.from_settings(settings)
    actor = Actor.system("test")
    with sessions() as s:
        org = Organization(name="Org", slug=f"org-{secrets.token_hex(3)}")
        s.add(org)
        s.flush()
        magnet = LeadMagnet(org_id=org.id, name="Kit", slug="kit", type=MagnetType.CHECKLIST)
        s.add(magnet)
        s.flush()
        now = dt.datetime.now(dt.UTC)
        alice = service.create_lead(s, org.id, actor, magnet_id=magnet.id, email=EMAIL,
                                    name="Alice", visitor_id=VISITOR, confirmed_at=now)
        bob = service.create_lead(s, org.id, actor, magnet_id=magnet.id, email=OTHER_EMAIL,
                                  name="Bob", visitor_id=OTHER_VISITOR)
        endpoint = WebhookEndpoint(org_id=org.id, url="https://hooks.example.com/in")
        s.add(endpoint)
        s.flush()
        for event in s.scalars(sa.select(OutboxEvent).where(OutboxEvent.org_id == org.id)):
            s.add(WebhookDelivery(org_id=org.id, endpoint_id=endpoint.id, outbox_event_id=event.id,
                                  response_status=200,
                                  response_body=json.dumps(event.payload)[:300]))
        s.add(MailMessage(org_id=org.id, lead_id=alice.id, kind="confirm", to_addr=EMAIL,
                          subject="Confirm", text_body=f"Hi {EMAIL}", html_body="<p>Hi</p>",
                          message_id="<m1@x>"))
        suppress(s, org.id, EMAIL, "unsubscribed")  # her entry goes, Bob's bounce stays
        suppress(s, org.id, OTHER_EMAIL, "bounced")
        s.add(AIGeneration(org_id=org.id, model="m", prompt=f"Write to {EMAIL} about churn",
                           response="ok"))
        job = Job(org_id=org.id, kind="build", status=JobStatus.SUCCEEDED, params={})
        s.add(job)
        s.flush()
        build = Build(org_id=org.id, magnet_id=magnet.id, job_id=job.id, document_version=1)
        s.add(build)
        s.flush()
        data = f"<html><body>Prepared for {EMAIL}</body></html>".encode()
        s.add(Artifact(org_id=org.id, magnet_id=magnet.id, build_id=build.id, name="a.html",
                       media_type="text/html", size_bytes=len(data), sha256=store.put(data)))
        s.commit()
        ids = {"org_id": org.id, "lead_id": alice.id, "other_lead_id": bob.id}
    mail = EmailMessage()
    mail["To"], mail["From"], mail["Subject"] = EMAIL, "x@example.com", "Your checklist"
    mail["Message-ID"] = "<m1@x>"
    mail.set_content(f"Dear {EMAIL}, here it is.", cte="base64")
    FolderTransport(settings.data_path / "mail").send(mail, mail.as_bytes())
    rows = _events(ids["org_id"])
    wh.insert_events(rows_to_arrow(rows[:-2]), "seed-1")

    async def spooled() -> None:  # Bob's last two events and one of Alice's are not shipped yet
        sp = Spool(settings.spool_dir)
        await sp.append(rows_to_block(rows[-2:] + [make_row(
            org_id=ids["org_id"], event="click", visitor_id=VISITOR, ts=T0 + 20_000,
            received_at=T0 + 20_000)]))
        await sp.drain()
        sp.close()

    asyncio.run(spooled())
    return ids


def survivors(settings: Settings, wh: Warehouse, org_id: str) -> dict[str, int]:
    """What must be left of Bob (and of the organization) after Alice's erasure."""
    sessions = session_factory(settings)
    with sessions() as s:
        leads = s.scalar(sa.select(sa.func.count()).select_from(Lead).where(Lead.org_id == org_id))
    events = wh.query("SELECT count() AS n FROM {{ source('events') }} WHERE visitor_id = "
                      "{v:String}", {"v": OTHER_VISITOR})[0]["n"]
    return {"leads": int(leads or 0), "bob_events": int(events)}
