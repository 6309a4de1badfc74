"""The warehouse layer on the embedded lake and on a chDB data directory: same SQL, same rows."""

from __future__ import annotations

import json

import pytest

from app_api.scoped_warehouse import ScopedWarehouse
from kernel.events import rows_to_arrow
from kernel.settings import Settings
from kernel.warehouse import WarehouseError, open_warehouse
from kernel.warehouse.lake_backend import LakeWarehouse
from tests.helpers import run_python
from tests.kernel.warehouse_contract import exercise, sample_rows

CHILD = """
import json
from kernel.settings import get_settings
from kernel.warehouse import open_warehouse
from tests.kernel.warehouse_contract import exercise
wh = open_warehouse(get_settings())
print(json.dumps(exercise(wh), default=str))
"""


def test_lake_and_chdb_directory_return_the_same_rows(settings: Settings) -> None:
    wh = open_warehouse(settings)
    assert wh.kind == "lake"
    lake = json.loads(json.dumps(exercise(wh), default=str))
    wh.close()
    chdb_settings = settings.model_copy(update={"warehouse_url": f"chdb://{settings.data_path}/chdb"})
    out = run_python(CHILD, chdb_settings)
    chdb = json.loads(out.strip().splitlines()[-1])
    assert lake["count"] == chdb["count"] == 2000  # the replayed segment added nothing
    assert lake["count_org_b"] == chdb["count_org_b"] == 667
    assert lake["first_migration"] == chdb["first_migration"] == ["0001_events"]
    assert lake["second_migration"] == chdb["second_migration"] == []
    assert lake["digest"] == chdb["digest"]
    assert lake["metrics"] == chdb["metrics"]
    assert lake["model_rows"] == chdb["model_rows"] > 0


def test_model_counts_match_hand_computation(settings: Settings) -> None:
    wh = LakeWarehouse(settings.lake_dir)
    rows = sample_rows()
    wh.insert_events(rows_to_arrow(rows), "s1")
    wh.materialize("daily_magnet_metrics")
    leads = sum(1 for r in rows if r[5] == "lead" and r[8])
    revenue = sum(r[23] for r in rows if r[5] == "purchase" and r[8])
    got = wh.query("SELECT sum(leads) l, sum(revenue) r FROM {{ ref('daily_magnet_metrics') }}")[0]
    assert got["l"] == leads
    assert got["r"] == pytest.approx(revenue)
    wh.close()


def test_scoped_warehouse_cannot_read_other_orgs(settings: Settings) -> None:
    wh = LakeWarehouse(settings.lake_dir)
    wh.insert_events(rows_to_arrow(sample_rows()), "s1")
    scoped = ScopedWarehouse(wh, "org_b")
    # the query "forgets" its own org filter: the scope still applies
    orgs = scoped.query("SELECT DISTINCT org_id FROM {{ source('events') }}")
    assert orgs == [{"org_id": "org_b"}]
    n = scoped.query("SELECT count() c FROM {{ source('events') }} WHERE org_id = 'org_a'")
    assert n == [{"c": 0}]
    with pytest.raises(ValueError):
        ScopedWarehouse(wh, "")
    wh.close()


def test_unmaterialized_model_gives_actionable_error(settings: Settings) -> None:
    wh = LakeWarehouse(settings.lake_dir)
    with pytest.raises(WarehouseError, match="has not been materialized yet"):
        wh.query("SELECT * FROM {{ ref('daily_magnet_metrics') }}")
    assert wh.count_events() == 0  # an empty lake reads as zero rows with the right types
    wh.close()


def test_sql_templates_autoescape_plain_values(settings: Settings) -> None:
    wh = LakeWarehouse(settings.lake_dir)
    rendered = wh.render("SELECT {{ x }}", {"x": "'; DROP TABLE events --"})
    assert "&#39;" in rendered.sql  # a value pasted into SQL is mangled, never executed
    wh.close()
