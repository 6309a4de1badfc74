"""HTML answers of the public pages: one template set, a nonce-based CSP, no caching by
shared caches."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi.responses import HTMLResponse

from kernel.metadata.models import Organization
from publishing.links import privacy_url
from publishing.render import render


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


def page_headers(nonce: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """The security headers of a page whose inline style and script carry ``nonce``."""
    csp = (f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
           "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
           "base-uri 'none'; frame-ancestors 'none'")
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Cache-Control": "private, no-cache", **(headers or {})}


def html_page(name: str, status: int = 200, headers: dict[str, str] | None = None,
              **ctx: Any) -> HTMLResponse:
    """Template ``name`` with a fresh CSP nonce for its inline style and script."""
    nonce = new_nonce()
    body = render(name, nonce=nonce, **ctx)
    return HTMLResponse(body, status, headers=page_headers(nonce, headers))


def message_page(status: int, title: str, *paragraphs: str,
                 org: Organization | None = None, **ctx: Any) -> HTMLResponse:
    """A titled message page (errors, thank-you, confirmation, unsubscribe)."""
    return html_page("message.html", status, title=title, paragraphs=list(paragraphs),
                     org_name=org.name if org else "",
                     privacy_url=privacy_url(org) if org else "", **ctx)
