"""Who is looking: sign-in (email + password, or an API key for kiosks), role, sign-out,
and the organizations this tab is signed in to.

Credentials live in ``st.session_state`` of this browser tab only: one identity per
organization (users are per organization, so each is its own sign-in with that
organization's slug and password), one of them on screen. Switching is instant and never
asks the API for a token: a session of one organization can never mint another's. Every
read goes through :func:`dashboards.data.get`, whose cache key holds the credential and the
organization, so one organization never sees another's cached numbers; a switch also drops
the widget state (a typed query, its result, a picked magnet) of the one left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboards.client import ApiError, LodestoneClient
from kernel import permissions as P

KEY = "lodestone_auth"  # the identity on screen
IDS = "lodestone_identities"  # org_id -> identity, one per organization signed in to
SWITCH = "org_switch"
KEEP = (KEY, IDS, SWITCH, "signed_out", "period", "period_range")


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


def identities() -> dict[str, Viewer]:
    """Every organization this tab is signed in to (org_id -> identity), in sign-in order."""
    found: dict[str, Viewer] = st.session_state.setdefault(IDS, {})
    active: Viewer | None = st.session_state.get(KEY)
    if active is not None and found.get(active.org_id) is not active:
        found[active.org_id] = active  # set directly (tests, kiosk): it is one of them too
    return found


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
            _add(viewer)
    if viewer is not None:
        identities()
    return viewer


def _forget_org_state() -> None:
    """Drop what belongs to the organization on screen: widget values (a magnet picked,
    a query typed, a result, a pending action) and the URL's org-specific filters. Only the
    identities and the period survive a switch; cached reads are keyed by organization."""
    for k in list(st.session_state.keys()):
        if k not in KEEP:
            del st.session_state[k]
    for name in list(st.query_params.keys()):
        if name not in ("days", "start", "end"):
            del st.query_params[name]


def _add(viewer: Viewer) -> None:
    """Keep ``viewer`` (replacing an older identity of its organization) and show it."""
    found = identities()
    found.pop(viewer.org_id, None)
    found[viewer.org_id] = viewer
    switch(viewer.org_id)


def switch(org_id: str) -> Viewer:
    """Show organization ``org_id`` (one this tab signed in to); instant: no sign-in."""
    target = identities()[org_id]
    active: Viewer | None = st.session_state.get(KEY)
    if active is None or active.org_id != org_id:
        _forget_org_state()
    st.session_state[KEY] = target
    st.session_state["signed_out"] = False
    return target


def sign_in(email: str, password: str, organization: str = "") -> Viewer:
    """Sign in (POST /v1/auth/token) and show that organization; identities already held
    for other organizations stay. Each organization is its own sign-in with its own
    password: no token is ever derived from another organization's session."""
    base = LodestoneClient(api_key="")
    token = base.token(email.strip(), password, organization.strip() or None)
    viewer = _viewer(LodestoneClient(base.base_url, token), "user")
    _add(viewer)
    return viewer


def sign_in_with_key(api_key: str) -> Viewer:
    viewer = _viewer(LodestoneClient(api_key=api_key.strip()), "api_key")
    _add(viewer)
    return viewer


def sign_out(everywhere: bool = False) -> None:
    """Forget the organization on screen (or every one); the next one left is shown."""
    found = identities()
    active: Viewer | None = st.session_state.get(KEY)
    if everywhere:
        found.clear()
    elif active is not None:
        found.pop(active.org_id, None)
    st.session_state.pop(KEY, None)
    if found:
        switch(next(iter(found)))
    else:
        _forget_org_state()
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
            _attempt(sign_in, email, password, org)
    with kiosk, st.form("sign_in_key"):
        key = st.text_input("API key", type="password", help="ls_live_…; the pages follow the "
                            "key's scopes. For wall screens set LODESTONE_DASHBOARD_API_KEY.")
        if st.form_submit_button("Use this key"):
            _attempt(sign_in_with_key, key)
    st.caption("`lodestone up` prints the demo login (owner@demo.example / lodestone-demo).")


def _attempt(fn: Callable[..., object], *args: str) -> None:
    """A sign-in: the page again on success, the API's message on failure."""
    try:
        fn(*args)
    except ApiError as exc:
        st.error(exc.message)
    else:
        st.rerun()


def _on_switch() -> None:
    switch(st.session_state[SWITCH])


def sidebar(viewer: Viewer) -> None:
    """Who is signed in; the organization selector, "Add organization", sign-out."""
    found = identities()
    with st.sidebar:
        if len(found) > 1:
            st.session_state[SWITCH] = viewer.org_id
            st.selectbox("Organization", list(found), key=SWITCH, on_change=_on_switch,
                         format_func=lambda o: f"{found[o].org_name} ({found[o].org_slug})",
                         help="Organizations this tab is signed in to; switching needs no "
                         "password (each was signed in to with its own).")
        else:
            st.markdown(f"**{viewer.org_name}**")
        st.caption(f"{viewer.name} · {viewer.role}")
        with st.expander("Add organization"), st.form("add_org", clear_on_submit=True):
            # keyed per organization on screen: the default follows a switch
            email = st.text_input("Email", value=viewer.name if viewer.kind == "user" else "",
                                  key=f"add_org_email_{viewer.org_id}")
            password = st.text_input("Password", type="password", key="add_org_password")
            slug = st.text_input("Organization slug", key="add_org_slug",
                                 help="Your account in that organization: its own password.")
            if st.form_submit_button("Sign in to it"):
                if not slug.strip():
                    st.error("Enter the organization's slug (e.g. acme).")
                else:
                    _attempt(sign_in, email, password, slug)
        label = f"Sign out of {viewer.org_slug}" if len(found) > 1 else "Sign out"
        if st.button(label, key="sign_out"):
            sign_out()
            st.rerun()
        if len(found) > 1 and st.button("Sign out of all", key="sign_out_all"):
            sign_out(everywhere=True)
            st.rerun()


def require(viewer: Viewer, permission: str) -> bool:
    """Whether to offer an action; an action the role lacks is simply not shown."""
    return viewer.can(permission)


__all__ = ["P", "Viewer", "current", "identities", "require", "sidebar", "sign_in_page",
           "sign_out", "switch"]
