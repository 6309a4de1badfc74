"""``/docs`` (Swagger UI) and ``/redoc`` served with local assets: they work offline.

FastAPI's default pages load Swagger UI, ReDoc, a favicon and Google Fonts from CDNs, so
on a machine without internet ``/docs`` is blank. The assets come from the
``fastapi-offline`` package (Swagger UI bundle + CSS, the ReDoc standalone bundle, a
favicon) and are served by the API under ``/docs-assets/``; a Content-Security-Policy keeps
the pages from fetching anything else (ReDoc's bundle links its logo on a CDN).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS = Path(fastapi_offline.__file__).with_name("static")
PREFIX = "/docs-assets"
#: Nothing outside the API: ReDoc's bundle would still fetch its logo from cdn.redoc.ly.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
       "'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
       "worker-src 'self' blob:; connect-src 'self'")


def _local_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page


def install_docs(app: FastAPI) -> None:
    """Add ``/docs``, ``/docs/oauth2-redirect``, ``/redoc`` and their assets to ``app``.

    The app must be created with ``docs_url=None, redoc_url=None``.
    """
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} — documentation"
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")

    async def swagger_ui() -> HTMLResponse:
        return _local_only(get_swagger_ui_html(
            openapi_url=openapi_url, title=title,
            swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/favicon.png",
            oauth2_redirect_url="/docs/oauth2-redirect"))

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc() -> HTMLResponse:
        return _local_only(get_redoc_html(openapi_url=openapi_url, title=title,
                                          redoc_js_url=f"{PREFIX}/redoc.standalone.js",
                                          redoc_favicon_url=f"{PREFIX}/favicon.png",
                                          with_google_fonts=False))

    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs/oauth2-redirect", oauth2_redirect, methods=["GET"],
                      include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
