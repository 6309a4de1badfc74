"""Demo and simulation organizations: a site, an API key, two magnets, a running experiment."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from content.document import make_brief
from content.offline import generate
from kernel.metadata.enums import ExperimentStatus, MagnetStatus, MagnetType, Role
from kernel.metadata.models import (
    ApiKey,
    Experiment,
    LeadMagnet,
    MagnetVariant,
    Organization,
    Site,
    User,
)
from kernel.metadata.tokens import generate_api_key
from kernel.permissions import ALL_PERMISSIONS

DEMO_PASSWORD = "lodestone-demo"


#: The landing-page copy of the demo ebook's variants (the headline is what they test).
EBOOK_PAGE = {
    "subheadline": "A practical, step-by-step playbook for B2B SaaS teams: from the first "
                   "visit to a paying customer, with the numbers to watch at each step.",
    "benefits": ["Find the three leaks in your trial funnel in an afternoon",
                 "Onboarding emails that bring users back on day 2, 7 and 30",
                 "A pricing-page checklist used by 40+ growth teams",
                 "Worksheets to estimate the payback of every experiment"],
}


def _document(type_: str, topic: str, title: str) -> dict[str, object]:
    """A real document (the offline generator's) so the demo magnets build and pass the
    quality gate."""
    doc = generate(make_brief(type_, topic, "saas"))
    return {**doc.model_dump(mode="json"), "title": title}

@dataclass
class SeededMagnet:
    magnet_id: str
    slug: str
    base_rate: float
    experiment_key: str = ""
    variants: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    true_lift: dict[str, float] = field(default_factory=dict)


@dataclass
class SeededOrg:
    org_id: str
    slug: str
    site_id: str
    site_key: str
    api_key: str
    magnets: list[SeededMagnet]


def _credentials_file(data_dir: Path) -> Path:
    return data_dir / "seeded_orgs.json"


def load_seeded(data_dir: Path) -> dict[str, SeededOrg]:
    """Organizations seeded on this machine, with their (development) API keys."""
    try:
        raw = json.loads(_credentials_file(data_dir).read_text())
    except FileNotFoundError:
        return {}
    return {
        slug: SeededOrg(**{**o, "magnets": [SeededMagnet(**m) for m in o["magnets"]]})
        for slug, o in raw.items()
    }


def _save(data_dir: Path, orgs: dict[str, SeededOrg]) -> None:
    path = _credentials_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({k: asdict(v) for k, v in orgs.items()}, indent=2))
    os.chmod(tmp, 0o600)  # holds API keys: owner-only
    tmp.replace(path)


def seed_org(
    sessions: sessionmaker[Session],
    data_dir: Path,
    slug: str = "demo",
    name: str = "Demo Growth Co",
    *,
    true_lift: float = 0.30,
    started_days_ago: int = 30,
) -> SeededOrg:
    """Create (once) an org with two magnets: an A/B test (true lift) on the ebook, an A/A test on
    the checklist. Returns what the simulator needs; API keys are kept in ``seeded_orgs.json``."""
    existing = load_seeded(data_dir)
    with sessions() as s:
        org = s.scalar(sa.select(Organization).where(Organization.slug == slug))
        if org is not None and slug in existing:
            return existing[slug]
        if org is None:
            org = Organization(name=name, slug=slug)
            s.add(org)
            s.flush()
            s.add(User(org_id=org.id, email=f"owner@{slug}.example", name="Demo Owner",
                       role=Role.OWNER, password_hash=PasswordHasher().hash(DEMO_PASSWORD)))
            site = Site(org_id=org.id, name=f"{name} website", allowed_origins=[
                "http://127.0.0.1:8000", "http://localhost:8000"])
            s.add(site)
            ebook = LeadMagnet(
                org_id=org.id, name="The SaaS Growth Playbook", slug="saas-growth-playbook",
                type=MagnetType.EBOOK, status=MagnetStatus.PUBLISHED, lead_value=40.0,
                content=_document("ebook", "SaaS growth", "The SaaS Growth Playbook"),
                design={"primary_color": "#1d4ed8"}, published_at=dt.datetime.now(dt.UTC),
            )
            checklist = LeadMagnet(
                org_id=org.id, name="Product Launch Checklist", slug="launch-checklist",
                type=MagnetType.CHECKLIST, status=MagnetStatus.PUBLISHED, lead_value=25.0,
                content=_document("checklist", "product launches", "Product Launch Checklist"),
                design={"primary_color": "#059669"}, published_at=dt.datetime.now(dt.UTC),
            )
            s.add_all([ebook, checklist])
            s.flush()
            s.add_all([
                MagnetVariant(org_id=org.id, magnet_id=ebook.id, key="A", name="Control headline",
                              is_control=True, content={"headline": "Grow your SaaS", **EBOOK_PAGE}),
                MagnetVariant(org_id=org.id, magnet_id=ebook.id, key="B", name="Benefit headline",
                              content={"headline": "Double your trial sign-ups in 30 days",
                                       **EBOOK_PAGE}),
            ])
            s.add(Experiment(
                org_id=org.id, magnet_id=ebook.id, key=f"{slug}-ebook-headline",
                name="Ebook headline", hypothesis="A concrete benefit lifts opt-ins",
                primary_metric="lead", guardrail_metrics=["purchase"],
                variants=[{"key": "A", "name": "Control", "weight": 0.5},
                          {"key": "B", "name": "Benefit headline", "weight": 0.5}],
                status=ExperimentStatus.RUNNING,
                started_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=started_days_ago),
                min_runtime_hours=72, min_users_per_arm=1000,
            ))
            # An A/A test (both arms identical): the promotion sensor must never pick a winner.
            s.add(Experiment(
                org_id=org.id, magnet_id=checklist.id, key=f"{slug}-checklist-aa",
                name="Checklist A/A (sanity check)", hypothesis="No difference: an A/A test",
                primary_metric="lead", guardrail_metrics=[],
                variants=[{"key": "A", "name": "Control", "weight": 0.5},
                          {"key": "B", "name": "Same as control", "weight": 0.5}],
                status=ExperimentStatus.RUNNING,
                started_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=started_days_ago),
                min_runtime_hours=72, min_users_per_arm=1000,
            ))
            s.flush()
        found = s.scalars(sa.select(Site).where(Site.org_id == org.id)).first()
        assert found is not None
        site = found
        new = generate_api_key("live")
        s.add(ApiKey(org_id=org.id, name="demo key", prefix=new.prefix,
                     secret_hash=new.secret_hash, scopes=list(ALL_PERMISSIONS)))
        magnets = s.scalars(
            sa.select(LeadMagnet).where(LeadMagnet.org_id == org.id).order_by(LeadMagnet.slug.desc())
        ).all()
        experiments = {e.magnet_id: e for e in s.scalars(
            sa.select(Experiment).where(Experiment.org_id == org.id))}
        seeded_magnets = []
        for m in magnets:
            exp = experiments.get(m.id)
            sm = SeededMagnet(m.id, m.slug, base_rate=0.08 if m.type == MagnetType.EBOOK else 0.05)
            if exp is not None:
                sm.experiment_key = exp.key
                sm.variants = [v["key"] for v in exp.variants]
                sm.weights = [float(v["weight"]) for v in exp.variants]
                lift = 0.0 if exp.key.endswith("-aa") else true_lift
                sm.true_lift = {k: (0.0 if i == 0 else lift) for i, k in enumerate(sm.variants)}
            seeded_magnets.append(sm)
        s.commit()
        result = SeededOrg(org.id, slug, site.id, site.site_key, new.token, seeded_magnets)
    existing[slug] = result
    _save(data_dir, existing)
    return result
