"""Custom domains: a site's own host name serves its magnets' landing pages.

``GET https://go.example.com/{magnet slug}`` is the landing page of that magnet when
``go.example.com`` is the custom domain of the magnet's site (``PATCH /v1/sites/{id}``).
Any other host, or a magnet of another site, gets 404. Registered after every other route,
so it only sees one-segment paths no other route took.
"""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app_api.public import PublicDep
from app_api.routes.landing import _snapshot, gone_page, not_found_page, serve_landing
from kernel.errors import NotFoundError
from publishing.landing import MagnetGoneError

router = APIRouter(include_in_schema=False)


def request_host(request: Request) -> str:
    """The Host header's name without its port, lower-cased."""
    host = request.headers.get("host", "").strip().lower()
    if host.startswith("["):  # an IPv6 literal is never a custom domain
        return ""
    return host.rsplit(":", 1)[0] if ":" in host else host


@router.get("/{magnet_slug}")
async def domain_landing_page(magnet_slug: str, request: Request, pub: PublicDep) -> Response:
    """A magnet's landing page on its site's custom domain."""
    host = request_host(request)
    found = await anyio.to_thread.run_sync(pub.pages.domain, host) if host else None
    if found is None:
        return not_found_page()
    site_id, org_slug = found
    try:
        snap = await _snapshot(pub, org_slug, magnet_slug)
    except MagnetGoneError as exc:
        return gone_page(exc)
    except NotFoundError:
        return not_found_page()
    if snap.site_id != site_id:  # another site's magnet: not on this domain
        return not_found_page()
    return await serve_landing(request, pub, snap, f"{request.url.scheme}://{host}/{magnet_slug}")
