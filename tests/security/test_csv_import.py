"""A 100k-row CSV import is bulk work, not 100k round trips (issue #18, item 10).

10,000 rows took 40.6 s on SQLite and 62.4 s on PostgreSQL in one request; the documented
maximum is 100,000. The import stays all-or-nothing (docs/security.md says why).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from fastapi.testclient import TestClient

from tests.app_api.world import World

ROWS = 100_000
BUDGET_S = 5.0  # the target on an idle 2-core machine; the figure is printed
#: Asserted bound: shared CI machines run many suites at once (load 12-24 measured here,
#: where the same import took 23-28 s); row-by-row, 100k rows took ~400 s.
BOUND_S = 60.0


def _csv(n: int, amount: float, start: int = 0) -> bytes:
    day0 = dt.date(2020, 1, 1)
    lines = ["date,channel,campaign,amount,currency"]
    for i in range(start, start + n):
        lines.append(f"{day0 + dt.timedelta(days=i // 50)},ch{i % 5},camp{i // 5 % 10},"
                     f"{amount + i % 7},EUR")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.slow
def test_hundred_thousand_rows_import_in_seconds(client: TestClient, world: World) -> None:
    headers = {**world.a.key_auth(), "content-type": "text/csv"}
    body = _csv(ROWS, 10.0)
    t0 = time.perf_counter()
    r = client.post("/v1/ad-spend/import", content=body, headers=headers)
    first = time.perf_counter() - t0
    assert r.status_code == 200, r.text[:300]
    assert r.json() == {"created": ROWS, "updated": 0}
    # Re-importing the same keys replaces them (half new, half existing).
    t0 = time.perf_counter()
    r = client.post("/v1/ad-spend/import", content=_csv(ROWS, 20.0, start=ROWS // 2),
                    headers=headers)
    second = time.perf_counter() - t0
    assert r.json() == {"created": ROWS // 2, "updated": ROWS // 2}, r.text[:300]
    print(f"\nCSV import of {ROWS} rows: {first:.2f} s new, {second:.2f} s half updates "
          f"(budget {BUDGET_S} s)")
    assert first < BOUND_S and second < BOUND_S
    for i, amount in ((0, 10.0), (ROWS // 2, 20.0 + (ROWS // 2) % 7)):  # kept / replaced
        day = str(dt.date(2020, 1, 1) + dt.timedelta(days=i // 50))
        page = client.get("/v1/ad-spend", headers=world.a.key_auth(), params={
            "start": day, "end": day, "channel": "ch0", "campaign": "camp0"}).json()["data"]
        assert [row["amount"] for row in page] == [amount]


def test_one_bad_row_imports_nothing(client: TestClient, world: World) -> None:
    headers = {**world.a.key_auth(), "content-type": "text/csv"}
    body = _csv(1000, 1.0).replace(b"2020-01-03,ch0", b"2020-13-03,ch0", 1)
    r = client.post("/v1/ad-spend/import", content=body, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["line"] > 1
    rows = client.get("/v1/ad-spend", headers=world.a.key_auth(),
                      params={"start": "2020-01-01", "end": "2020-12-31"}).json()["data"]
    assert rows == []
