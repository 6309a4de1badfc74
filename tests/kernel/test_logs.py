"""Logs: quiet console, everything in the data directory's files, request id and org id."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from kernel.logs import CONSOLE, configure_logging
from kernel.settings import Settings
from lodestone.seed import seed_org
from lodestone.services import init_storage, session_factory
from tests.helpers import running_server


@pytest.fixture()
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield None
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def test_console_shows_warnings_and_decisions_files_keep_the_rest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: object) -> None:
    path = configure_logging(tmp_path / "logs", "cli", json_console=False)
    logging.getLogger("alembic.runtime.migration").info("Running upgrade  -> 0001")
    logging.getLogger("httpx").info("HTTP Request: POST http://127.0.0.1/v1/events")
    logging.getLogger(CONSOLE).info("experiment headline: promoted b")
    logging.getLogger("lodestone.x").warning("disk nearly full")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert "promoted b" in err[0] and "disk nearly full" in err[1]
    assert not err[0].startswith("{")  # human lines for a person
    assert path is not None
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["event"] for r in records] == [
        "Running upgrade  -> 0001", "experiment headline: promoted b", "disk nearly full"]
    assert records[0]["logger"] == "alembic.runtime.migration" and records[0]["level"] == "info"

    configure_logging(tmp_path / "logs", "cli", verbose=True, json_console=True)
    logging.getLogger("alembic").info("verbose now")
    line = json.loads(capsys.readouterr().err.splitlines()[-1])
    assert line["event"] == "verbose now"


def test_api_request_lines_carry_request_and_org_ids_and_no_personal_data(
        settings: Settings) -> None:
    init_storage(settings)
    org = seed_org(session_factory(settings), settings.data_path)
    with running_server(settings) as (base, _):
        r = httpx.get(f"{base}/v1/stats/daily-magnet-metrics?magnet_id=m1",
                      headers={"Authorization": f"Bearer {org.api_key}",
                               "X-Request-ID": "req-0123456789"}, timeout=30)
        assert r.status_code == 200 and r.headers["x-request-id"] == "req-0123456789"
        anonymous = httpx.get(f"{base}/v1/magnets", timeout=30)
        assert anonymous.status_code == 401 and len(anonymous.headers["x-request-id"]) == 32
    text = (settings.data_path / "logs" / "serve.log").read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    mine = [x for x in lines if x.get("request_id") == "req-0123456789"]
    assert len(mine) == 1, lines
    assert mine[0]["event"] == "request" and mine[0]["org_id"] == org.org_id
    assert mine[0]["route"] == "/v1/stats/daily-magnet-metrics" and mine[0]["status"] == 200
    other = next(x for x in lines if x.get("request_id") == anonymous.headers["x-request-id"])
    assert other["status"] == 401 and "org_id" not in other
    assert org.api_key not in text and "magnet_id=m1" not in text and "127.0.0.1" not in text
    console = "".join(p.read_text() for p in settings.data_path.glob("server-*.log"))
    assert "req-0123456789" not in console  # INFO stays off the console
