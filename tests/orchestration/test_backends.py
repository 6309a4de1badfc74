"""The whole asset graph on the embedded lake and on a chDB data directory: same answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

from kernel.metadata.db import migrate
from lodestone.seed import seed_org
from lodestone.services import session_factory
from tests.helpers import make_settings, run_python
from tests.metadata_db import sqlite_url
from tests.orchestration import portable

CHILD = """
import json, sys
from pathlib import Path
from kernel.settings import get_settings
from tests.orchestration import portable
facts = portable.run(get_settings(), Path(sys.argv[1]), int(sys.argv[2]))
print(json.dumps(facts, default=str))
"""


def test_lake_and_chdb_directory_give_the_same_analytics(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    metadata = sqlite_url(shared / "metadata.db")
    shared.mkdir()
    migrate(metadata)
    lake = make_settings(tmp_path / "lake", metadata_url=metadata)
    seed_org(session_factory(lake), shared)
    now_ms = int(time.time() * 1000)
    chdb = make_settings(tmp_path / "chdb", metadata_url=metadata,
                         warehouse_url=f"chdb://{tmp_path / 'chdb' / 'clickhouse'}")
    code = CHILD.replace("sys.argv[1]", repr(str(shared))).replace("sys.argv[2]", str(now_ms))
    out = run_python(code, chdb, timeout=600)
    on_chdb = json.loads(out.strip().splitlines()[-1])
    on_lake = json.loads(json.dumps(portable.run(lake, shared, now_ms), default=str))
    assert (on_lake["kind"], on_chdb["kind"]) == ("lake", "clickhouse")
    assert on_lake["success"] and on_chdb["success"]
    assert all(passed for _, passed in on_chdb["checks"]), on_chdb["checks"]
    assert on_lake["checks"] == on_chdb["checks"]
    assert on_lake["partition_run_same"] and on_chdb["partition_run_same"]
    for name in portable.QUERIES:
        assert on_lake[name], name
        assert on_lake[name] == on_chdb[name], name
