"""Ad-hoc SQL for the Explore page: DuckDB in memory over tables the API returned.

Nothing else is reachable from the SQL: external access (files, URLs, extensions) is
switched off and the configuration locked before the user's query runs, so it can read
neither the warehouse's Parquet files nor the metadata database.
"""

from __future__ import annotations

import threading
import time

import duckdb
import polars as pl

TIMEOUT_S = 30.0
MAX_ROWS = 10_000


def run_sql(tables: dict[str, pl.DataFrame], sql: str, timeout_s: float = TIMEOUT_S) -> pl.DataFrame:
    """Run ``sql`` over ``tables`` in a fresh in-memory DuckDB; cancelled after ``timeout_s``.

    Raises:
        TimeoutError: the query ran longer than ``timeout_s`` (it has been interrupted).
        duckdb.Error: the SQL is wrong (the message says why).
    """
    con = duckdb.connect(":memory:")
    try:
        for name, frame in tables.items():
            con.register(name, frame.to_arrow())
        # No files, no extensions, no network: only the registered tables are reachable.
        con.execute("SET enable_external_access = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET lock_configuration = true")
        timer = threading.Timer(timeout_s, con.interrupt)
        timer.start()
        started = time.monotonic()
        try:
            relation = con.sql(sql)
            result = pl.from_arrow(relation.to_arrow_table()) if relation is not None else pl.DataFrame()
        except duckdb.InterruptException:
            raise TimeoutError(f"cancelled after {time.monotonic() - started:.0f} s") from None
        finally:
            timer.cancel()
        assert isinstance(result, pl.DataFrame)
        return result.head(MAX_ROWS)
    finally:
        con.close()

