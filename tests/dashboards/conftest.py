"""One simulated world for every dashboards test: two organizations (A with an owner and a
viewer, B with an owner), two weeks of simulated traffic each written to a real lake, every
Dagster asset materialized, and one real API server (uvicorn) on a free port."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from argon2 import PasswordHasher

from kernel.metadata.enums import Role
from kernel.metadata.models import User
from kernel.settings import Settings, get_settings, settings_env
from kernel.warehouse import open_warehouse
from lodestone.seed import DEMO_PASSWORD, SeededOrg, seed_org
from lodestone.services import init_storage, session_factory
from lodestone.simulate import generate_table
from tests.helpers import make_settings, running_server

VIEWER_PASSWORD = "viewer-password-123"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Org:
    seeded: SeededOrg
    owner_email: str
    events: pa.Table
    truth: dict[str, object]
    viewer_email: str = ""


@dataclass
class World:
    settings: Settings
    base: str
    a: Org
    b: Org
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, email: str, password: str = DEMO_PASSWORD) -> str:
        if email not in self.tokens:
            r = httpx.post(f"{self.base}/v1/auth/token", json={"email": email, "password": password},
                           timeout=30)
            r.raise_for_status()
            self.tokens[email] = r.json()["access_token"]
        return self.tokens[email]

    def get(self, path: str, token: str, **params: object) -> dict[str, object]:
        r = httpx.get(f"{self.base}{path}", params={k: v for k, v in params.items() if v is not None},
                      headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert r.status_code == 200, r.text
        result: dict[str, object] = r.json()
        return result


def _materialize() -> None:
    from dagster import materialize

    from orchestration.definitions import all_assets
    from orchestration.resources import MetadataResource, WarehouseResource

    result = materialize(list(all_assets),  # type: ignore[arg-type]
                         resources={"warehouse": WarehouseResource(), "metadata": MetadataResource()},
                         raise_on_error=True)
    assert result.success


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("dash") / "data")
    mp = pytest.MonkeyPatch()
    for key in list(os.environ):
        if key.startswith("LODESTONE_"):
            mp.delenv(key)
    for key, value in settings_env(settings).items():
        mp.setenv(key, value)
    get_settings.cache_clear()
    try:
        init_storage(settings)
        sessions = session_factory(settings)
        a = seed_org(sessions, settings.data_path, slug="acme", name="Acme Analytics")
        b = seed_org(sessions, settings.data_path, slug="globex", name="Globex Growth")
        with sessions() as s:
            s.add(User(org_id=a.org_id, email="viewer@acme.example", name="Vera Viewer",
                       role=Role.VIEWER, password_hash=PasswordHasher().hash(VIEWER_PASSWORD)))
            s.commit()
        now = int(time.time() * 1000)
        rng = random.Random(1313)
        orgs = []
        wh = open_warehouse(settings)
        try:
            for org, visitors in ((a, 700), (b, 300)):
                table, truth = generate_table(org, visitors, 14, rng.getrandbits(63), now)
                wh.insert_events(table, f"dash-{org.slug}")
                orgs.append(Org(org, f"owner@{org.slug}.example", table, truth))
        finally:
            wh.close()
        orgs[0].viewer_email = "viewer@acme.example"
        _materialize()
        with running_server(settings) as (base, _proc):
            mp.setenv("LODESTONE_API_URL", base)
            get_settings.cache_clear()
            yield World(settings, base, orgs[0], orgs[1])
    finally:
        mp.undo()
        get_settings.cache_clear()
