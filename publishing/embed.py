"""Embedding a magnet's form on other sites: the versioned script, its SRI hash, the
snippets to paste, and which origins may post to the opt-in from a browser (CORS).

The script is immutable per version (``/embed/v1.js``); a change ships as ``v2`` so an
``integrity`` attribute pasted on a site never breaks. Origins allowed are the magnet's
site's ``allowed_origins``, the same list the collector trusts.
"""

from __future__ import annotations

import base64
import hashlib
import html
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from kernel.metadata.models import LeadMagnet, Site

STATIC = Path(__file__).with_name("static")
VERSIONS = {1: "embed-v1.js"}
CURRENT = max(VERSIONS)


@cache
def script(version: int) -> tuple[bytes, str]:
    """(source, SRI ``sha384-…``) of embed script ``version`` (KeyError if unknown)."""
    body = (STATIC / VERSIONS[version]).read_bytes()
    return body, "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


def site_origins(session: Session, magnet: LeadMagnet) -> list[str]:
    """The origins of the magnet's site (where its form may be embedded)."""
    site = session.get(Site, magnet.site_id) if magnet.site_id else None
    if site is None or site.org_id != magnet.org_id:
        return []
    return [o.rstrip("/") for o in site.allowed_origins or [] if o.startswith("http")]


def allowed_origin(session: Session, magnet: LeadMagnet, origin: str) -> bool:
    """May a page at ``origin`` read the magnet's form and post to its opt-in?"""
    return bool(origin) and origin.rstrip("/") in site_origins(session, magnet)


def snippets(base: str, landing_url: str) -> dict[str, str]:
    """HTML to paste: inline form, popup (5 s, 50 % scroll or exit intent, weekly cap),
    and an iframe of the landing page."""
    _, integrity = script(CURRENT)
    src = f"{base}/embed/v{CURRENT}.js"
    common = (f'<script src="{html.escape(src)}" integrity="{integrity}" '
              f'crossorigin="anonymous" async data-ls-embed="{html.escape(landing_url)}"')
    return {
        "script_url": src,
        "integrity": integrity,
        "inline": f'{common} data-mode="inline"></script>',
        "popup": f'{common} data-mode="popup" data-delay="5" data-scroll="50" '
                 'data-exit="1" data-every-days="7"></script>',
        "iframe": f'<iframe src="{html.escape(landing_url)}?embed=1" title="Sign up" '
                  'loading="lazy" style="border:0;width:100%;min-height:640px"></iframe>',
    }
