"""Lodestone dashboards (Streamlit): sign-in, then the analyst's pages.

Run with ``lodestone up`` or ``streamlit run dashboards/app.py``. Every number comes from
the API (``dashboards/client.py``) as the signed-in person or kiosk key; nothing here reads
the warehouse or the metadata store.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboards import session

HERE = Path(__file__).parent / "views"

st.set_page_config(page_title="Lodestone", page_icon=":material/explore:", layout="wide")
viewer = session.current()
if viewer is None:
    session.sign_in_page()
    st.stop()

PAGES = [
    st.Page(HERE / "overview.py", title="Overview", icon=":material/monitoring:", default=True),
    st.Page(HERE / "magnets.py", title="Magnets", icon=":material/menu_book:", url_path="magnets"),
    st.Page(HERE / "experiments.py", title="Experiments", icon=":material/science:",
            url_path="experiments"),
    st.Page(HERE / "funnels.py", title="Funnels", icon=":material/filter_alt:", url_path="funnels"),
    st.Page(HERE / "cohorts.py", title="Cohorts", icon=":material/grid_on:", url_path="cohorts"),
    st.Page(HERE / "attribution.py", title="Attribution", icon=":material/alt_route:",
            url_path="attribution"),
    st.Page(HERE / "roi.py", title="ROI", icon=":material/payments:", url_path="roi"),
    st.Page(HERE / "explore.py", title="Explore", icon=":material/query_stats:", url_path="explore"),
    st.Page(HERE / "studio.py", title="Studio", icon=":material/edit_note:", url_path="studio"),
]
page = st.navigation(PAGES)
session.sidebar(viewer)
page.run()
