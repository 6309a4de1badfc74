"""Erasure on a chDB data directory (the ClickHouse path: mutations awaited and checked) and
resumption after the eraser is killed mid-way (SIGKILL between two steps)."""

from __future__ import annotations

import json
import subprocess
import sys

from kernel.metadata.audit import Actor
from kernel.metadata.models import PrivacyRequest
from kernel.settings import Settings
from kernel.warehouse import open_warehouse
from lodestone.services import session_factory
from privacy import requests, scan
from tests.helpers import ROOT, child_env, run_python
from tests.privacy import person

NEEDLES = [person.EMAIL, person.VISITOR, person.SERVER_VISITOR]

CHDB_CHILD = """
import json
from kernel.metadata.audit import Actor
from kernel.settings import get_settings
from kernel.warehouse import open_warehouse
from lodestone.services import session_factory
from privacy import requests, scan
from tests.privacy import person

settings = get_settings()
wh = open_warehouse(settings)
ids = person.seed(settings, wh)
needles = [person.EMAIL, person.VISITOR, person.SERVER_VISITOR]
before = sorted({h.how for h in scan.scan_files(settings.data_path, needles)})
sessions = session_factory(settings)
with sessions() as s:
    req = requests.request(s, ids["org_id"], Actor.system("t"), settings, "erase",
                           lead_id=ids["lead_id"])
    s.commit()
steps = requests.run_erasure(sessions, settings, req.id, wh)
print(json.dumps({"before": before, "steps": steps,
                  "files": [h.where for h in scan.scan_files(settings.data_path, needles)],
                  "tables": [h.where for h in scan.scan_warehouse(wh.client, needles)],
                  "db": [h.where for h in scan.scan_database(sessions.kw["bind"], needles)],
                  "left": person.survivors(settings, wh, ids["org_id"])}))
"""


def test_erasure_on_a_chdb_data_directory(settings: Settings) -> None:
    chdb = settings.model_copy(update={"warehouse_url": f"chdb://{settings.data_path}/chdb"})
    out = json.loads(run_python(CHDB_CHILD, chdb, timeout=180).strip().splitlines()[-1])
    assert "clickhouse-block" in out["before"]  # the scan reads compressed parts
    assert out["steps"]["warehouse"] == {"events": 7}
    assert out["files"] == out["tables"] == out["db"] == []
    assert out["left"] == {"leads": 1, "bob_events": 2}


KILLED_CHILD = """
import os, signal, sys
from kernel.settings import get_settings
from lodestone.services import session_factory
from privacy import requests
from privacy.stores import metadata

def die(*a, **k):  # the worker is killed after the spool and warehouse steps
    os.kill(os.getpid(), signal.SIGKILL)

metadata.erase = die
requests.run_erasure(session_factory(get_settings()), get_settings(), sys.argv[1])
"""


def test_a_killed_erasure_resumes_and_finishes(settings: Settings) -> None:
    wh = open_warehouse(settings)
    ids = person.seed(settings, wh)
    sessions = session_factory(settings)
    with sessions() as s:
        req = requests.request(s, ids["org_id"], Actor.system("t"), settings, "erase",
                               visitor_id=person.VISITOR)
        s.commit()
    wh.close()
    proc = subprocess.run([sys.executable, "-c", KILLED_CHILD, req.id], env=child_env(settings),
                          cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    with sessions() as s:
        pending = s.get_one(PrivacyRequest, req.id)
        assert pending.status == "pending" and pending.subject["email"] == person.EMAIL
        assert set(pending.steps) == {"expand", "spool", "warehouse"}
    wh = open_warehouse(settings)
    steps = requests.run_erasure(sessions, settings, req.id, wh)
    assert steps["warehouse"] == {"events": 7} and steps["metadata"] >= 5
    assert scan.scan_files(settings.data_path, NEEDLES) == []
    assert scan.scan_database(sessions.kw["bind"], NEEDLES) == []
    wh.close()
