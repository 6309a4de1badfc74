"""Explore's SQL runner: DuckDB over the API's tables only, cancelled after its timeout."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dashboards.explore_sql import run_sql

TABLES = {"funnels": pl.DataFrame({"step": ["view", "lead"], "visitors": [100, 9]})}


def test_queries_the_given_tables() -> None:
    out = run_sql(TABLES, "SELECT sum(visitors) AS n FROM funnels")
    assert out.to_dicts() == [{"n": 109}]


def test_a_slow_query_is_cancelled_with_a_message() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="cancelled after"):
        run_sql(TABLES, "SELECT count(*) FROM range(100000000000) a", timeout_s=0.5)
    assert time.monotonic() - started < 10


def test_files_and_settings_are_out_of_reach(tmp_path: Path) -> None:
    secret = tmp_path / "metadata.csv"
    secret.write_text("k,v\napi_key,ls_live_x\n")
    for sql in (f"SELECT * FROM read_csv_auto('{secret}')",
                f"SELECT * FROM '{secret}'",
                "SET enable_external_access = true",
                "INSTALL httpfs"):
        with pytest.raises(duckdb.Error):
            run_sql(TABLES, sql)
