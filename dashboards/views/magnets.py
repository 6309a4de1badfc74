"""Magnets: per magnet its funnel (variants side by side), review status and who approved it,
landing page, embed snippet to copy, QR code to download and the latest build's artifacts."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import filters
from dashboards import format as F
from dashboards.client import ApiError
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
approval = get(v, f"/v1/magnets/{chosen}/approval")
if approval["approved_by"]:
    st.markdown(f"Approved by **{approval['approved_by']}** on {approval['approved_at'][:10]}"
                + (f": “{approval['note']}”" if approval["note"] else ""))
else:
    st.markdown("No approval recorded (an owner or admin approves a magnet in review; "
                "magnets seeded or published before the review gate have none).")
pub = get(v, f"/v1/magnets/{chosen}/publishing")
st.markdown(f"Landing page: [{pub['landing_url']}]({pub['landing_url']}) · "
            + ("**live**" if pub["live"] else "not live until published"))
embed = get(v, f"/v1/magnets/{chosen}/embed")
st.markdown("Embed on your site (copy with the icon at the right of each snippet; see "
            "docs/publishing.md): an inline form, a popup or an iframe.")
kind = st.radio("Snippet", ["inline", "popup", "iframe"], horizontal=True, key="embed_kind",
                label_visibility="collapsed")
st.code(embed[kind], language="html")
left, right = st.columns(2)
try:
    qr = v.client.get_bytes(f"/v1/magnets/{chosen}/qr", {"format": "png", "scale": 8})
except ApiError as exc:
    left.error(f"No QR code: {exc.message}")
else:
    left.image(qr, width=140, caption="QR code to the landing page (utm_source=qr)")
    left.download_button("Download QR code (PNG)", qr, file_name=f"{m['slug']}-qr.png",
                         mime="image/png", key="qr_png")
builds = [b for b in get(v, f"/v1/magnets/{chosen}/builds", limit=10)["data"]
          if b["status"] == "succeeded"]
with right:
    if not builds:
        st.info("No build yet: build the magnet in the Studio.")
    else:
        b = builds[0]
        st.markdown(f"Latest build `{b['id']}` · {b['created_at'][:16].replace('T', ' ')} UTC · "
                    f"document version {b['document_version']}")
        for art in b["artifacts"]:
            def data(url: str = art["download_url"]) -> bytes:
                return v.client.get_bytes(url)
            st.download_button(f"{art['name']} · {art['size_bytes'] / 1024:,.0f} KB", data,
                               file_name=art["name"], mime=art["media_type"].split(";")[0],
                               key=f"art_{art['id']}")

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
