"""Test data: organizations with a user of every role, API keys and one of each resource."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher

from app_api.auth import sessions
from app_api.deps import State
from content.artifacts import ArtifactStore
from kernel.metadata.audit import Actor, record
from kernel.metadata.enums import (
    DeliveryStatus,
    ExperimentStatus,
    JobStatus,
    LegalBasis,
    MagnetStatus,
    MagnetType,
    Role,
)
from kernel.metadata.models import (
    AdSpend,
    ApiKey,
    Artifact,
    Build,
    ConsentPurpose,
    ConsentText,
    Experiment,
    Job,
    KnowledgeDocument,
    Lead,
    LeadMagnet,
    MagnetVariant,
    Organization,
    OutboxEvent,
    PrivacyRequest,
    ProcessingActivity,
    Site,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from kernel.metadata.tokens import generate_api_key
from kernel.permissions import ALL_PERMISSIONS

ROLES = ("owner", "admin", "editor", "viewer")
#: Cheap argon2 parameters for fixtures (verification reads them from the hash itself).
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery staple"


@dataclass
class Org:
    id: str
    slug: str
    tokens: dict[str, str] = field(default_factory=dict)  # role -> bearer session token
    users: dict[str, str] = field(default_factory=dict)  # role -> user id
    key_token: str = ""  # an API key with every permission
    ids: dict[str, str] = field(default_factory=dict)  # path parameter name -> id

    def auth(self, role: str = "owner") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def key_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key_token}"}

    @property
    def owner_email(self) -> str:
        return f"owner@{self.slug}.example"


@dataclass
class World:
    a: Org
    b: Org


def make_org(state: State, name: str, *, password_for_owner: bool = True) -> Org:
    """A new organization ``<name>-<random>`` with every role, keys and resources."""
    now = dt.datetime.now(dt.UTC)
    slug = f"{name}-{secrets.token_hex(4)}"
    with state.sessions() as s:
        org_row = Organization(name=slug.title(), slug=slug)
        s.add(org_row)
        s.flush()
        org = Org(org_row.id, slug)
        # Sessions exist only for people with a password (issue #18): every role has one;
        # password_for_owner=False leaves the owner unable to sign in with PASSWORD.
        shared = CHEAP_HASHER.hash(PASSWORD)
        for role in ROLES:
            pw = shared if role != "owner" or password_for_owner else CHEAP_HASHER.hash(
                secrets.token_hex(16))
            user = User(org_id=org.id, email=f"{role}@{slug}.example", name=role.title(),
                        role=Role(role), password_hash=pw)
            s.add(user)
            s.flush()
            org.users[role] = user.id
            org.tokens[role], _ = sessions.issue(
                state.settings.secret_key, user_id=user.id, org_id=org.id, password_hash=pw,
                kind="bearer", ttl_s=3600, now=int(time.time()))
        member = User(org_id=org.id, email=f"member@{slug}.example", name="Member",
                      role=Role.VIEWER)
        s.add(member)
        new = generate_api_key()
        full = ApiKey(org_id=org.id, name="all", prefix=new.prefix, secret_hash=new.secret_hash,
                      scopes=list(ALL_PERMISSIONS))
        spare = generate_api_key()
        extra = ApiKey(org_id=org.id, name="spare", prefix=spare.prefix,
                       secret_hash=spare.secret_hash, scopes=["events:write"])
        site = Site(org_id=org.id, name="Site", allowed_origins=["https://example.com"])
        s.add_all([full, extra, site])
        s.flush()
        org.key_token = new.token
        magnet = LeadMagnet(org_id=org.id, site_id=site.id, name="Playbook",
                            slug=f"playbook-{secrets.token_hex(3)}", type=MagnetType.EBOOK,
                            status=MagnetStatus.DRAFT, content={"title": "T"})
        s.add(magnet)
        s.flush()
        variant = MagnetVariant(org_id=org.id, magnet_id=magnet.id, key="A", is_control=True)
        s.add_all([variant, MagnetVariant(org_id=org.id, magnet_id=magnet.id, key="B")])
        exp = Experiment(org_id=org.id, magnet_id=magnet.id, key=f"exp-{secrets.token_hex(3)}",
                         name="Headline", status=ExperimentStatus.DRAFT,
                         variants=[{"key": "A", "name": "Control", "weight": 0.5},
                                   {"key": "B", "name": "Benefit", "weight": 0.5}])
        lead = Lead(org_id=org.id, magnet_id=magnet.id, email=f"lead@{slug}.example",
                    variant="A", utm={"source": "google"})
        endpoint = WebhookEndpoint(org_id=org.id, url="https://hooks.example.com/lodestone")
        event = OutboxEvent(org_id=org.id, event_type="magnet.published",
                            payload={"magnet": {"id": magnet.id}}, dispatched_at=now)
        spend = AdSpend(org_id=org.id, date=dt.date(2026, 1, 1), channel="google",
                        campaign="brand", amount=12.5)
        s.add_all([exp, lead, endpoint, event, spend])
        s.flush()
        delivery = WebhookDelivery(org_id=org.id, endpoint_id=endpoint.id,
                                   outbox_event_id=event.id, attempt=1,
                                   status=DeliveryStatus.FAILED, response_status=500)
        s.add(delivery)
        job = Job(org_id=org.id, kind="build", magnet_id=magnet.id, params={},
                  status=JobStatus.SUCCEEDED, progress=1.0)
        s.add(job)
        s.flush()
        build = Build(org_id=org.id, magnet_id=magnet.id, job_id=job.id, document_version=1,
                      formats=["html"])
        html = f"<!doctype html><title>{slug}</title>".encode()
        sha = ArtifactStore.from_settings(state.settings).put(html)
        build.artifacts.append(Artifact(org_id=org.id, magnet_id=magnet.id, name="a.html",
                                        media_type="text/html", size_bytes=len(html), sha256=sha))
        s.add(build)
        privacy_request = PrivacyRequest(org_id=org.id, kind="export", subject={},
                                         subject_hash="0" * 64, requested_by="seed")
        s.add(privacy_request)
        knowledge = KnowledgeDocument(org_id=org.id, title="Facts", media_type="text/markdown",
                                      sha256=secrets.token_hex(32), size_bytes=10)
        s.add(knowledge)
        purpose = ConsentPurpose(org_id=org.id, key=f"only_{secrets.token_hex(3)}", name="P")
        s.add(purpose)
        s.flush()
        s.add(ConsentText(org_id=org.id, purpose_id=purpose.id, version=1, text="Mail me.",
                          sha256="0" * 64))
        activity = ProcessingActivity(org_id=org.id, name="Lead capture", purpose="Deliver",
                                      legal_basis=LegalBasis.CONTRACT, data_categories=["email"],
                                      data_subjects=["leads"], recipients=[], transfers=[])
        s.add(activity)
        s.flush()
        entry = record(s, org_id=org.id, actor=Actor(org.users["owner"], "user"),  # type: ignore[arg-type]
                       action="seed.created", resource_type="organization", resource_id=org.id)
        s.flush()
        org.ids = {
            "org_id": org.id, "user_id": member.id, "key_id": extra.id,
            "site_id": site.id, "magnet_id": magnet.id, "variant_id": variant.id,
            "experiment_id": exp.id, "lead_id": lead.id, "endpoint_id": endpoint.id,
            "delivery_id": delivery.id, "entry_id": entry.id, "spend_id": spend.id,
            "job_id": job.id, "knowledge_id": knowledge.id, "build_id": build.id, "artifact_id": build.artifacts[0].id,
            "request_id": privacy_request.id,
            "purpose_key": purpose.key, "activity_id": activity.id,
        }
        s.commit()
    return org


def build_world(state: State) -> World:
    return World(make_org(state, "alpha"), make_org(state, "beta"))


def org_snapshot(state: State, org_id: str) -> dict[str, Any]:
    """Every row of every org-scoped table for ``org_id`` (to prove nothing changed)."""
    import sqlalchemy as sa

    from kernel.metadata.base import Base

    out: dict[str, Any] = {}
    with state.sessions() as s:
        for name, table in sorted(Base.metadata.tables.items()):
            col = table.c.id if name == "organizations" else table.c.get("org_id")
            if col is None:
                continue
            rows = s.execute(sa.select(table).where(col == org_id).order_by(*table.primary_key.columns)).all()
            out[name] = [tuple(str(v) for v in r) for r in rows]
    return out
