"""Who is looking: sign-in (email + password, or an API key for kiosks), role, sign-out.

The credential lives in ``st.session_state`` of this browser tab only. Every read goes
through :func:`dashboards.data.get`, whose cache key holds the credential and the
organization, so one organization never sees another's cached numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboards.client import ApiError, LodestoneClient
from kernel import permissions as P

KEY = "lodestone_auth"


@dataclass(frozen=True)
class Viewer:
    """The signed-in caller as the API describes it (``GET /v1/me``)."""

    base_url: str
    credential: str
    kind: str  # "user" or "api_key"
    org_id: str
    org_name: str
    org_slug: str
    name: str
    role: str
    permissions: frozenset[str]

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def client(self) -> LodestoneClient:
        return LodestoneClient(self.base_url, self.credential)


def _viewer(client: LodestoneClient, kind: str) -> Viewer:
    me: dict[str, Any] = client.me()
    user = me.get("user") or {}
    org = me["organization"]
    return Viewer(client.base_url, client.api_key, kind, org["id"], org["name"], org["slug"],
                  user.get("email") or "API key", me.get("role") or "api key",
                  frozenset(me["permissions"]))


def current() -> Viewer | None:
    viewer: Viewer | None = st.session_state.get(KEY)
    if viewer is None and not st.session_state.get("signed_out"):
        kiosk = LodestoneClient()
        if kiosk.api_key:  # LODESTONE_DASHBOARD_API_KEY: a wall screen signs in by itself
            try:
                viewer = _viewer(kiosk, "api_key")
            except ApiError as exc:
                st.error(f"The kiosk API key was refused: {exc.message}")
                return None
            st.session_state[KEY] = viewer
    return viewer


def sign_in(email: str, password: str, organization: str = "") -> Viewer:
    base = LodestoneClient(api_key="")
    token = base.token(email.strip(), password, organization.strip() or None)
    viewer = _viewer(LodestoneClient(base.base_url, token), "user")
    st.session_state[KEY] = viewer
    st.session_state["signed_out"] = False
    return viewer


def sign_in_with_key(api_key: str) -> Viewer:
    viewer = _viewer(LodestoneClient(api_key=api_key.strip()), "api_key")
    st.session_state[KEY] = viewer
    st.session_state["signed_out"] = False
    return viewer


def sign_out() -> None:
    st.session_state.pop(KEY, None)
    st.session_state["signed_out"] = True


def sign_in_page() -> None:
    """The sign-in form (shown instead of any page until someone signs in)."""
    st.title("Sign in to Lodestone")
    person, kiosk = st.tabs(["Email and password", "API key (kiosk)"])
    with person, st.form("sign_in"):
        email = st.text_input("Email")
        password = st.text_input("Password", type="password")
        org = st.text_input("Organization (slug)", help="Needed only when your email belongs "
                            "to several organizations; also how you switch organization.")
        if st.form_submit_button("Sign in", type="primary"):
            try:
                sign_in(email, password, org)
            except ApiError as exc:
                st.error(exc.message)
            else:
                st.rerun()
    with kiosk, st.form("sign_in_key"):
        key = st.text_input("API key", type="password", help="ls_live_…; the pages follow the "
                            "key's scopes. For wall screens set LODESTONE_DASHBOARD_API_KEY.")
        if st.form_submit_button("Use this key"):
            try:
                sign_in_with_key(key)
            except ApiError as exc:
                st.error(exc.message)
            else:
                st.rerun()
    st.caption("`lodestone up` prints the demo login (owner@demo.example / lodestone-demo).")


def sidebar(viewer: Viewer) -> None:
    """Who is signed in, organization switch and sign-out."""
    with st.sidebar:
        st.markdown(f"**{viewer.org_name}**  \n{viewer.name} · {viewer.role}")
        if viewer.kind == "user":
            with st.expander("Switch organization"):
                with st.form("switch_org"):
                    slug = st.text_input("Organization slug")
                    password = st.text_input("Password", type="password")
                    if st.form_submit_button("Switch"):
                        try:
                            sign_in(viewer.name, password, slug)
                        except ApiError as exc:
                            st.error(exc.message)
                        else:
                            st.rerun()
        if st.button("Sign out", key="sign_out"):
            sign_out()
            st.rerun()


def require(viewer: Viewer, permission: str) -> bool:
    """Whether to offer an action; an action the role lacks is simply not shown."""
    return viewer.can(permission)


__all__ = ["P", "Viewer", "current", "require", "sidebar", "sign_in_page", "sign_out"]
