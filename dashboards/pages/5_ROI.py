"""ROI per channel and attribution model: spend, cost per lead, ROAS, ROI, payback."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards.common import client_from_sidebar, load

st.set_page_config(page_title="ROI · Lodestone", page_icon="💸", layout="wide")
st.title("Return on ad spend")
frame = load(client_from_sidebar(), "roi")
if "model" in frame.columns:
    model = st.selectbox("Attribution model", sorted(frame["model"].unique().to_list()))
    frame = frame.filter(pl.col("model") == model)
st.dataframe(frame.to_pandas(), hide_index=True, use_container_width=True)
