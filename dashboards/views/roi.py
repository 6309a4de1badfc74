"""ROI: cost per lead, ROAS, ROI and payback per channel for one attribution model, and the
ad-spend upload (preview first, row-level errors from the API)."""

from __future__ import annotations

import io

import polars as pl
import streamlit as st

from dashboards import filters
from dashboards import format as F
from dashboards.client import ApiError
from dashboards.data import act, get
from dashboards.page import viewer
from kernel import permissions as P

v = viewer()
st.title("Return on ad spend")
rows = get(v, "/v1/stats/roi")["rows"]
frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
total_spend = float(frame["spend"].sum()) if frame.height else 0.0
if not frame.height:
    st.info("No ROI yet: it needs attributed leads (the hourly roll-up).")
elif total_spend == 0:
    st.info("No spend uploaded, so there is no cost per lead, ROAS or ROI to show (they would "
            "all read 0). Upload your ad spend below, then the next hourly roll-up "
            "(`lodestone materialize roi`) fills this page.")
else:
    present = [m for m in F.MODELS if m in set(frame["model"].to_list())]
    model = filters.choose("Attribution model", "model", present, F.MODELS, allow_all=False,
                           sidebar=False) or present[0]
    part = frame.filter(pl.col("model") == model).sort("spend", descending=True)
    currency = next((c for c in part["currency"].to_list() if c), "")
    errors = [e for e in part["error"].to_list() if e]
    if errors:
        st.warning(errors[0])
    st.dataframe([{
        "Channel": r["channel"], f"Ad spend ({currency})": F.money(r["spend"], ""),
        "Attributed leads": f"{r['conversions']:,.1f}", "Attributed lead value": F.money(r["value"], ""),
        "Cost per lead": "no spend" if not r["spend"] else F.money(r["cost_per_lead"], ""),
        "ROAS": "no spend" if not r["spend"] else f"{r['roas']:.2f} ×" if r["roas"] is not None else "–",
        "ROI": "no spend" if not r["spend"] else F.pct(r["roi"], 1, True),
        "Payback": "–" if not r["spend"] else "not yet" if r["payback_weeks"] is None
        else f"{r['payback_weeks']} weeks",
    } for r in part.iter_rows(named=True)], hide_index=True, width="stretch")
    st.caption(" · ".join(f"**{F.label(m)}**: {F.help(m)}" for m in ("cost_per_lead", "roas", "roi"))
               + " Payback: first week after opt-in when the channel's leads have bought more per "
               "lead than the cost per lead.")

if v.can(P.LEAD_MAGNETS_WRITE):
    st.subheader("Upload ad spend")
    upload = st.file_uploader("CSV with a header row: date,channel,campaign,amount[,currency]",
                              type=["csv"], key="spend_csv")
    if upload is not None:
        raw = upload.getvalue()
        try:
            preview = pl.read_csv(io.BytesIO(raw), n_rows=20, infer_schema_length=0)
        except Exception as exc:  # a preview only: the API gives the authoritative errors
            st.error(f"This file cannot be read as CSV: {str(exc).splitlines()[0]}")
        else:
            st.caption(f"Preview of the first {preview.height} rows (nothing is saved yet):")
            st.dataframe(preview.to_pandas(), hide_index=True, width="stretch")
            if st.button("Import spend", type="primary", key="import_spend"):
                try:
                    result = act(v, "/v1/ad-spend/import", None, content=raw,
                                 headers={"Content-Type": "text/csv"})
                except ApiError as exc:
                    st.error(exc.message)
                    if exc.details:
                        st.dataframe([{"Line": d.get("line"), "Problem": d.get("message")}
                                      for d in exc.details], hide_index=True)
                else:
                    st.success(f"Imported: {result['created']} new rows, {result['updated']} "
                               "updated. ROI reflects them after the next roll-up.")
