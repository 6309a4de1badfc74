"""Magnets: per magnet its funnel (variants side by side), review status, landing page and
embed snippet."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import filters
from dashboards import format as F
from dashboards.data import get
from dashboards.page import viewer

STEPS = ["view", "form_start", "lead", "confirmed", "purchase"]

v = viewer()
st.title("Magnets")
magnets = sorted(get(v, "/v1/magnets", limit=200)["data"], key=lambda m: m["name"])
if not magnets:
    st.info("No magnets yet. Create one with `POST /v1/magnets`, submit it for review and "
            "publish it; its numbers appear here once visitors see it.")
    st.stop()
top = {r["key"]: r for r in get(v, "/v1/overview/top", dimension="magnet", limit=100)["rows"]}
st.dataframe([{
    "Magnet": m["name"], "Type": m["type"], "Review status": m["status"],
    "Published": (m.get("published_at") or "")[:10] or "–",
    "Lead value": F.money(m["lead_value"]) if m.get("lead_value") is not None else "learned",
    "Visitors (30 days)": F.count(top.get(m["id"], {}).get("visitors", 0)),
    "Leads (30 days)": F.count(top.get(m["id"], {}).get("leads", 0)),
    "Conversion rate (30 days)": F.pct(top.get(m["id"], {}).get("conversion_rate", 0)),
} for m in magnets], hide_index=True, width="stretch")
st.caption(f"**{F.label('conversion_rate')}**: {F.help('conversion_rate')}")

by_id = {m["id"]: m for m in magnets}
chosen = filters.choose("Magnet", "magnet", list(by_id), {k: m["name"] for k, m in by_id.items()},
                        allow_all=False, sidebar=False, key="magnet_pick") or magnets[0]["id"]
m = get(v, f"/v1/magnets/{chosen}")
st.header(m["name"])
c1, c2, c3 = st.columns(3)
c1.metric("Review status", m["status"], help="draft → in review → approved → published (or rejected / archived)")
c2.metric("Variants", len(m.get("variants") or []) or "none")
c3.metric("Lead value", F.money(m["lead_value"]) if m.get("lead_value") is not None else "learned",
          help=F.help("lead_value"))
if m.get("variants"):
    st.dataframe([{"Variant": x["key"], "Name": x["name"], "Control": "yes" if x["is_control"] else ""}
                  for x in m["variants"]], hide_index=True)
sites = get(v, "/v1/sites", limit=200)["data"]
site_key = next((s["site_key"] for s in sites if s["id"] == m.get("site_id")),
                sites[0]["site_key"] if sites else "pub_…")
st.markdown("Embed on your site (see docs/tracking.md): the snippet in `<head>`, the magnet's "
            "element and form tagged with its id.")
st.code(f'<script src="{v.base_url}/s.js" data-site="{site_key}"></script>\n'
        f'<div data-ls-magnet="{m["id"]}">…</div>\n'
        f'<form data-ls-magnet="{m["id"]}">…</form>', language="html")

funnel = [r for r in get(v, "/v1/stats/funnels")["rows"] if r["magnet_id"] == chosen]
if not funnel:
    st.info("No funnel for this magnet yet: it fills after visitors see it and the hourly "
            "roll-up runs.")
    st.stop()
frame = pl.DataFrame(funnel, infer_schema_length=None).with_columns(
    pl.when(pl.col("variant") == "").then(pl.lit("(no test)")).otherwise(pl.col("variant")).alias("arm"))
arms = sorted(frame["arm"].unique().to_list())
st.altair_chart(alt.Chart(frame.to_pandas(), title="Funnel: share of viewers reaching each step").mark_bar().encode(
    x=alt.X("step:N", sort=STEPS, title="step"),
    xOffset=alt.XOffset("arm:N", sort=arms),
    y=alt.Y("overall_rate:Q", title="share of viewers", axis=alt.Axis(format="%")),
    color=alt.Color("arm:N", title="variant", scale=F.color_scale("variant", arms)),
    tooltip=[alt.Tooltip("arm:N", title="variant"), "step:N",
             alt.Tooltip("visitors:Q", title="visitors", format=","),
             alt.Tooltip("overall_rate:Q", title="of viewers", format=".2%")],
).properties(height=280), width="stretch")
st.caption("Artifacts (PDF builds) and the studio arrive with the content API; see the Studio page.")
