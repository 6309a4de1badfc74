"""Studio: creating and editing magnets, once the content API exists."""

from __future__ import annotations

import streamlit as st

from dashboards.client import ApiError
from dashboards.data import fetch
from dashboards.page import viewer

v = viewer()
st.title("Studio")
try:
    fetch(v, "/v1/templates")
except ApiError as exc:
    if exc.status != 404:
        st.error(f"The API refused the request: {exc.message}")
        st.stop()
    st.info("The studio (create a magnet from a template, AI or offline draft, section-by-section "
            "editing with a live preview, quality checks, review and publishing) needs the "
            "content API, which this server does not offer yet. Until then: create magnets with "
            "`POST /v1/magnets`, move them through review with `POST /v1/magnets/{id}/submit`, "
            "`/approve` and `/publish`, and follow them on the Magnets page.")
    st.stop()
st.info("The content API is available; the studio's editor is not built into this dashboard yet.")
