"""The template library (content/library.py): list by type and industry, page-1 previews
rendered on first request and cached under the data directory."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from app_api.deps import PermRead
from app_api.errors import APIError
from app_api.schemas import Out
from content.document import Industry, MagnetType
from content.library import TemplateError, get_template, list_templates

router = APIRouter(prefix="/v1/templates", tags=["templates"])
_render_lock = threading.Lock()
TemplateName = Annotated[str, Query(max_length=80, pattern=r"^[a-z0-9][a-z0-9-]{0,79}$",
                                    description="template name, e.g. saas-ebook")]


class TemplateOut(Out):
    name: str
    type: MagnetType
    industry: Industry
    description: str
    preview_url: str


def _out(info: Any) -> dict[str, Any]:
    return {"name": info.name, "type": info.type, "industry": info.industry,
            "description": info.description, "preview_url": f"/v1/templates/preview?name={info.name}"}


@router.get("", response_model=list[TemplateOut])
def list_library(ctx: PermRead, type: MagnetType | None = None,
                 industry: Industry | None = None) -> list[dict[str, Any]]:
    """Templates by type and industry, each with the URL of its page-1 preview."""
    return [_out(t) for t in list_templates(type, industry)]


@router.get("/preview", response_class=FileResponse,
            responses={200: {"content": {"image/png": {}}}})
def template_preview(name: TemplateName, ctx: PermRead) -> FileResponse:
    """Page 1 of the template rendered from its sample brief (rendered once, then cached)."""
    try:
        info = get_template(name)
    except TemplateError as exc:
        raise APIError(404, "not_found", str(exc)) from None
    root = ctx.settings.data_path / "previews"
    path = info.preview_path(root)
    if not path.exists():
        _render(info, path)
    return FileResponse(path, media_type="image/png",
                        headers={"Cache-Control": "private, max-age=86400"})


def _render(info: Any, path: Path) -> None:
    try:
        from content.previews import preview_png
    except ImportError:
        raise APIError(503, "unavailable", "template previews are not available in this "
                       "build (content.previews is missing); run `make previews`") from None
    with _render_lock:  # one WeasyPrint render at a time; a second caller finds the file
        if path.exists():
            return
        png = preview_png(info)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(png)
        os.replace(tmp, path)
