"""A simulated organization, materialized through the whole asset graph, shared by the tests."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import ExecuteInProcessResult, materialize

from kernel.metadata.db import migrate
from kernel.metadata.models import AdSpend
from kernel.settings import Settings
from kernel.warehouse.lake_backend import LakeWarehouse
from lodestone.seed import SeededOrg, seed_org
from lodestone.services import session_factory
from lodestone.simulate import simulate
from orchestration.definitions import all_assets, all_checks
from orchestration.resources import MetadataResource, WarehouseResource
from tests.helpers import make_settings

SPEND = [("Paid Search", "brand", 900.0), ("paid_search", "generic", 300.0),
         ("Organic Social", "", 150.0)]


@dataclass
class Simulated:
    settings: Settings
    org: SeededOrg
    truth: dict[str, Any]
    result: ExecuteInProcessResult

    def warehouse(self) -> LakeWarehouse:
        return LakeWarehouse(self.settings.lake_dir)

    def resources(self) -> dict[str, Any]:
        return resources(self.settings)


def resources(settings: Settings) -> dict[str, Any]:
    return {"warehouse": WarehouseResource(warehouse_url=settings.warehouse_url,
                                           data_dir=str(settings.data_path)),
            "metadata": MetadataResource(metadata_url=settings.resolved_metadata_url)}


def build(directory: Path, visitors: int, seed: int = 11) -> Simulated:
    """Seed an org with two experiments and ad spend, simulate 30 days, materialize all."""
    settings = make_settings(directory)
    settings.data_path.mkdir(parents=True, exist_ok=True)
    migrate(settings.resolved_metadata_url)
    sessions = session_factory(settings)
    org = seed_org(sessions, settings.data_path)
    with sessions() as s:
        today = dt.date.today()
        s.add_all([AdSpend(org_id=org.org_id, date=today - dt.timedelta(days=i), channel=ch,
                           campaign=campaign, amount=amount / 3)
                   for ch, campaign, amount in SPEND for i in range(3)])
        s.commit()
    wh = LakeWarehouse(settings.lake_dir)
    wh.migrate()
    truth = simulate([org], visitors, 30, seed=seed, warehouse=wh).orgs[org.slug]
    wh.close()
    result = materialize([*all_assets, *all_checks],  # type: ignore[list-item]
                         resources=resources(settings))
    (settings.data_path / "truth.json").write_text(json.dumps(truth))
    return Simulated(settings, org, truth, result)
