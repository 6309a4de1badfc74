"""Lodestone dashboards (Streamlit). Run: ``streamlit run dashboards/app.py``."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from dashboards.client import ApiError, LodestoneClient

st.set_page_config(page_title="Lodestone", page_icon="🧲", layout="wide")
st.title("Lead magnet performance")

with st.sidebar:
    st.header("Connection")
    api_url = st.text_input("API URL", value=LodestoneClient().base_url)
    api_key = st.text_input("API key", value=LodestoneClient().api_key, type="password")
    days = st.slider("Days", min_value=7, max_value=90, value=30)

client = LodestoneClient(api_url, api_key)
end = dt.date.today()
start = end - dt.timedelta(days=days - 1)
try:
    payload = client.daily_magnet_metrics(start=start, end=end)
except ApiError as exc:
    st.error(f"The API refused the request: {exc.message}")
    st.stop()

frame = pl.DataFrame(payload["data"]) if payload["data"] else pl.DataFrame()
totals = payload["totals"]
c1, c2, c3, c4 = st.columns(4)
c1.metric("Magnet views", f"{int(totals['views']):,}")
c2.metric("Leads", f"{int(totals['leads']):,}")
rate = totals["leads"] / totals["views"] if totals["views"] else 0.0
c3.metric("Leads per view", f"{rate:.2%}")
c4.metric("Revenue", f"${totals['revenue']:,.0f}")

if frame.is_empty():
    st.info("No data yet: send events to the collector, then materialize `daily_magnet_metrics`.")
    st.stop()

by_day = (
    frame.group_by("day").agg(pl.col("views").sum(), pl.col("leads").sum()).sort("day")
)
st.subheader("Views and leads per day")
st.line_chart(by_day.to_pandas().set_index("day"))

st.subheader("By magnet and variant")
summary = (
    frame.group_by("magnet_id", "variant")
    .agg(pl.col("visitors").sum(), pl.col("views").sum(), pl.col("leads").sum(),
         pl.col("revenue").sum())
    .with_columns((pl.col("leads") / pl.col("views")).fill_nan(0).alias("leads_per_view"))
    .sort("magnet_id", "variant")
)
st.dataframe(summary.to_pandas(), hide_index=True, use_container_width=True)
