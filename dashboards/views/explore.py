"""Explore: ad-hoc SQL (DuckDB, in this process) over the datasets the API returned for your
organization. The SQL never reaches the warehouse or the metadata store: DuckDB runs in
memory with external access off, on copies of API responses only."""

from __future__ import annotations

import io
from typing import Any

import altair as alt
import duckdb
import polars as pl
import streamlit as st

from dashboards.data import get
from dashboards.explore_sql import MAX_ROWS, TIMEOUT_S, run_sql
from dashboards.page import viewer

#: table name -> (API path, what it holds)
DATASETS = {
    "daily_magnet_metrics": ("/v1/stats/daily-magnet-metrics", "per day, magnet and variant"),
    "funnels": ("/v1/stats/funnels", "funnel steps per magnet and variant"),
    "cohorts": ("/v1/stats/cohorts", "cohort heatmap cells"),
    "attribution": ("/v1/stats/attribution", "credit per model and channel"),
    "roi": ("/v1/stats/roi", "spend and returns per model and channel"),
    "experiment_results": ("/v1/stats/experiment-results", "every daily look of every experiment"),
}


def load(v: Any, name: str) -> pl.DataFrame:
    payload = get(v, DATASETS[name][0])
    rows = payload.get("rows", payload.get("data", []))
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


v = viewer()
st.title("Explore")
st.caption("SQL (DuckDB dialect) over copies of what the API returned for your organization. "
           f"Queries over {TIMEOUT_S:.0f} s are cancelled; results are capped at {MAX_ROWS:,} rows.")
names = st.multiselect("Datasets", list(DATASETS), default=["daily_magnet_metrics"],
                       format_func=lambda n: f"{n} ({DATASETS[n][1]})", key="datasets")
tables = {n: load(v, n) for n in names}
with st.expander("Columns"):
    for n, frame in tables.items():
        st.markdown(f"**{n}** ({frame.height:,} rows): " + ", ".join(
            f"`{c}`" for c in frame.columns) if frame.width else f"**{n}**: no rows yet")
default = ("SELECT day, sum(views) AS magnet_views, sum(leads) AS leads\n"
           "FROM daily_magnet_metrics GROUP BY day ORDER BY day")
sql = st.text_area("SQL", value=st.session_state.get("sql", default), height=140, key="sql")
if st.button("Run", type="primary", key="run_sql") or "result" in st.session_state:
    if st.session_state.get("ran_sql") != sql or "result" not in st.session_state:
        try:
            st.session_state["result"] = run_sql({n: t for n, t in tables.items() if t.width}, sql)
            st.session_state["ran_sql"] = sql
        except TimeoutError as exc:
            st.session_state.pop("result", None)
            st.error(f"The query took too long and was {exc}. Narrow it (fewer rows, a WHERE) "
                     "and run it again.")
            st.stop()
        except duckdb.Error as exc:
            st.session_state.pop("result", None)
            st.error(f"DuckDB refused the query: {str(exc).splitlines()[0]}")
            st.stop()
    result: pl.DataFrame = st.session_state["result"]
    st.caption(f"{result.height:,} rows")
    st.dataframe(result.to_pandas(), hide_index=True, width="stretch")
    numeric = [c for c, t in result.schema.items() if t.is_numeric()]
    if result.width >= 2 and numeric and result.columns[0] not in numeric[:1]:
        x, y = result.columns[0], numeric[0]
        st.altair_chart(alt.Chart(result.to_pandas(), title=f"{y} by {x}").mark_bar().encode(
            x=alt.X(f"{x}:N" if result.schema[x] == pl.String else f"{x}", title=x),
            y=alt.Y(f"{y}:Q", title=y), tooltip=[x, y]).properties(height=260),
            width="stretch")
    parquet = io.BytesIO()
    result.write_parquet(parquet)
    c1, c2 = st.columns(2)
    c1.download_button("Download CSV", result.write_csv(), "lodestone-explore.csv", "text/csv")
    c2.download_button("Download Parquet", parquet.getvalue(), "lodestone-explore.parquet",
                       "application/vnd.apache.parquet")
