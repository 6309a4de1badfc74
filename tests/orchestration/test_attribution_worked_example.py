"""Every attribution model through the Dagster assets, on a worked example done by hand.

Journeys (channels of sessions in time order; lead values m1 = 10, m2 = 30):

    a: organic_search -> organic_social -> email, opts in to m1      (converts, 10)
    b: organic_search                                                  (no conversion)
    c: email, opts in to m2                                            (converts, 30)
    d: paid_search -> direct, opts in to m1                            (converts, 10)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from dagster import materialize

from kernel.metadata.db import make_engine, make_session_factory, migrate
from kernel.metadata.enums import MagnetType
from kernel.metadata.models import AdSpend, LeadMagnet, Organization
from kernel.warehouse.lake_backend import LakeWarehouse
from orchestration.assets.attribution import (
    attribution,
    attribution_conserves_conversions,
    conversion_paths,
    every_lead_has_a_path,
    lead_values,
)
from orchestration.assets.engagement import cohorts
from orchestration.assets.roi import roi, roi_conserves_spend
from orchestration.assets.sessions import sessions
from orchestration.resources import MetadataResource, WarehouseResource
from tests.metadata_db import sqlite_url
from tests.pipelines.builders import at, event, load

DAY = 86_400.0
# time decay: ages (days) of each touch at the conversion, half-life 7 days
A_AGES = [2 + 1 / 1440, 1 + 1 / 1440, 1 / 1440]
A_W = [2 ** (-age / 7) for age in A_AGES]
D_W = [2 ** (-(4 + 1 / 1440) / 7), 2 ** (-(1 / 1440) / 7)]

# model -> channel -> (conversions, value), worked out in the module docstring's example
EXPECTED: dict[str, dict[str, tuple[float, float]]] = {
    "first_touch": {"organic_search": (1, 10), "email": (1, 30), "paid_search": (1, 10),
                    "organic_social": (0, 0), "direct": (0, 0)},
    # the last non-direct touch: d's direct visit passes the credit back to paid search
    "last_touch": {"email": (2, 40), "paid_search": (1, 10), "organic_search": (0, 0),
                   "organic_social": (0, 0), "direct": (0, 0)},
    "linear": {"organic_search": (1 / 3, 10 / 3), "organic_social": (1 / 3, 10 / 3),
               "email": (4 / 3, 10 / 3 + 30), "paid_search": (0.5, 5), "direct": (0.5, 5)},
    # 40 % first, 40 % last, 20 % between; two touches 50/50
    "position_based": {"organic_search": (0.4, 4), "organic_social": (0.2, 2),
                       "email": (1.4, 34), "paid_search": (0.5, 5), "direct": (0.5, 5)},
    "time_decay": {
        "organic_search": (A_W[0] / sum(A_W), 10 * A_W[0] / sum(A_W)),
        "organic_social": (A_W[1] / sum(A_W), 10 * A_W[1] / sum(A_W)),
        "email": (1 + A_W[2] / sum(A_W), 30 + 10 * A_W[2] / sum(A_W)),
        "paid_search": (D_W[0] / sum(D_W), 10 * D_W[0] / sum(D_W)),
        "direct": (D_W[1] / sum(D_W), 10 * D_W[1] / sum(D_W)),
    },
    # start -> search 2/4, email 1/4, paid 1/4; search -> social 1/2, null 1/2; P(conv) 3/4.
    # Removal effects: search, social, paid, direct 1/3 each, email 2/3 (sum 2): shares
    # 1/6, 1/6, 1/6, 1/6, 1/3 of 3 leads. Value chain: email's exit is worth (10+30)/2 = 20,
    # direct's 10: V = 12.5; removal effects .4, .4, .8, .2, .2 (sum 2) of a value of 50.
    "markov": {"organic_search": (0.5, 10), "organic_social": (0.5, 10), "email": (1, 20),
               "paid_search": (0.5, 5), "direct": (0.5, 5)},
    # simplified Shapley: each converting path's distinct channels share it equally
    "shapley": {"organic_search": (1 / 3, 10 / 3), "organic_social": (1 / 3, 10 / 3),
                "email": (4 / 3, 10 / 3 + 30), "paid_search": (0.5, 5), "direct": (0.5, 5)},
}


def _metadata(url: str) -> tuple[str, str, str]:
    migrate(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        org = Organization(name="Worked", slug="worked")
        s.add(org)
        s.flush()
        m1 = LeadMagnet(org_id=org.id, name="One", slug="one", type=MagnetType.EBOOK,
                        lead_value=10.0)
        m2 = LeadMagnet(org_id=org.id, name="Two", slug="two", type=MagnetType.CHECKLIST,
                        lead_value=30.0)
        s.add_all([m1, m2])
        s.flush()
        s.add_all([AdSpend(org_id=org.id, date=dt.date(2026, 3, 2), channel="Paid Search",
                           amount=20.0),
                   AdSpend(org_id=org.id, date=dt.date(2026, 3, 2), channel="email",
                           campaign="weekly", amount=10.0)])
        s.commit()
        ids = (org.id, m1.id, m2.id)
    engine.dispose()
    return ids


def _events(org: str, m1: str, m2: str) -> list[Any]:
    return [
        event("a", at(0), look="search", org=org),
        event("a", at(0, days=1), look="social", org=org),
        event("a", at(0, days=2), look="email", org=org),
        event("a", at(1, days=2), "lead", look="email", org=org, magnet_id=m1),
        event("b", at(0, days=1), look="search", org=org),
        event("c", at(0, days=3), look="email", org=org),
        event("c", at(1, days=3), "lead", look="email", org=org, magnet_id=m2),
        event("c", at(0, days=5), "purchase", org=org, value=15.0),
        event("d", at(0), look="paid", org=org),
        event("d", at(0, days=4), org=org),
        event("d", at(1, days=4), "lead", org=org, magnet_id=m1),
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def metadata_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "metadata.db")
        return
    from tests.kernel.conftest import POSTGRES_URL, require_postgres
    from tests.metadata_db import postgres_schema_url

    require_postgres()
    with postgres_schema_url(POSTGRES_URL) as url:
        yield url


def test_every_model_through_the_assets(tmp_path: Path, metadata_url: str) -> None:
    org, m1, m2 = _metadata(metadata_url)
    wh = LakeWarehouse(tmp_path / "data" / "lake")
    load(wh, _events(org, m1, m2))
    result = materialize(
        [sessions, conversion_paths, lead_values, attribution, cohorts, roi,
         every_lead_has_a_path, attribution_conserves_conversions, roi_conserves_spend],
        resources={"warehouse": WarehouseResource(data_dir=str(tmp_path / "data")),
                   "metadata": MetadataResource(metadata_url=metadata_url)})
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations())
    rows = wh.query("SELECT model, channel, conversions, value FROM {{ ref('attribution') }}")
    got = {(r["model"], r["channel"]): (r["conversions"], r["value"]) for r in rows}
    assert len(got) == 7 * 5
    for model, channels in EXPECTED.items():
        for channel, (conversions, value) in channels.items():
            assert got[(model, channel)] == pytest.approx((conversions, value), abs=1e-9), (
                model, channel)
    roi_rows = {(r["model"], r["channel"]): r for r in wh.query(
        "SELECT * FROM {{ ref('roi') }} WHERE model IN ('first_touch', 'last_touch')")}
    paid = roi_rows[("first_touch", "paid_search")]
    assert (paid["spend"], paid["cost_per_lead"], paid["roas"], paid["roi"]) == (
        20.0, 20.0, 0.5, -0.5)
    email = roi_rows[("last_touch", "email")]  # 2 leads worth 40 for 10 spent
    assert (email["cost_per_lead"], email["roas"], email["roi"]) == (5.0, 4.0, 3.0)
    # payback: email's first-touch lead (c) bought 15 two days after opting in, week 0
    assert roi_rows[("first_touch", "email")]["payback_weeks"] == 0
    assert paid["payback_weeks"] is None  # d never bought
    wh.close()
