"""An in-process collector (its real spool and registry) over two seeded organizations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.testclient import TestClient

from ingestion.app import create_collector_app
from lodestone.seed import SeededOrg
from tests.ingestion.support import CHROME, setup_storage


@dataclass
class CollectorWorld:
    http: TestClient
    org: SeededOrg
    other: SeededOrg


@contextmanager
def collector_client(data_dir: Path) -> Iterator[CollectorWorld]:
    settings, org, other = setup_storage(data_dir)
    with TestClient(create_collector_app(settings), headers={"User-Agent": CHROME}) as http:
        yield CollectorWorld(http, org, other)
