"""Build every output of a magnet: ``build(document, design, brand) -> BuildResult``.

Pure library code: no database, no storage, no network (local template and font files only).
The integrator's build job stores the returned artifacts; the CLI writes them to a folder.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from markupsafe import Markup

from content.brand import BrandKit
from content.document import Design, Document, MagnetType
from content.library import TemplateInfo, resolve
from content.render.docx import render_docx
from content.render.html import render_html, render_svg, stylesheet
from content.render.markdown import render_markdown
from content.render.pdf import pdf_to_png, render_pdf

FORMATS: dict[MagnetType, tuple[str, ...]] = {
    MagnetType.EBOOK: ("pdf", "html"),
    MagnetType.CHECKLIST: ("pdf", "html"),
    MagnetType.TEMPLATE: ("html", "pdf", "docx", "md"),
    MagnetType.CALCULATOR: ("html",),
    MagnetType.INFOGRAPHIC: ("svg", "png", "pdf"),
}
MEDIA_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8", "svg": "image/svg+xml",
               "png": "image/png", "md": "text/markdown; charset=utf-8",
               "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


class BuildError(ValueError):
    """A format the type does not have, or a template that does not fit."""


@dataclass(frozen=True)
class Artifact:
    name: str
    media_type: str
    data: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class BuildResult:
    artifacts: list[Artifact]
    template: str
    warnings: list[str] = field(default_factory=list)


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")
    return slug or "magnet"


def _artifact(name: str, fmt: str, data: bytes) -> Artifact:
    return Artifact(f"{name}.{fmt}", MEDIA_TYPES[fmt], data, hashlib.sha256(data).hexdigest())


def build(document: Document, design: Design | None = None, brand: BrandKit | None = None,
          formats: tuple[str, ...] | list[str] | None = None) -> BuildResult:
    """Render ``document`` with its design's template and ``brand`` (the template's default kit if None).

    Args:
        formats: a subset of ``FORMATS[document.type]``; all of them by default.

    Returns:
        The artifacts in the order of ``formats`` and warnings (e.g. a remote image left out).
    """
    design = design or Design()
    info = resolve(document.type, document.industry, design.template)
    brand = brand or info.default_brand()
    wanted = tuple(formats) if formats else FORMATS[document.type]
    unknown = [f for f in wanted if f not in FORMATS[document.type]]
    if unknown:
        raise BuildError(f"a {document.type.value} is built as {', '.join(FORMATS[document.type])}, "
                         f"not {', '.join(unknown)}")
    name = slugify(document.title)
    warnings: list[str] = []
    out: dict[str, bytes] = {}
    if document.type == MagnetType.INFOGRAPHIC:
        svg = render_svg(document, info, brand)
        out["svg"] = svg.encode()
        if "pdf" in wanted or "png" in wanted:
            out["pdf"] = _infographic_pdf(svg, info, brand, warnings)
            if "png" in wanted:
                out["png"] = pdf_to_png(out["pdf"], dpi=96)
    else:
        if "html" in wanted:
            out["html"] = render_html(document, info, brand).encode()
        if "pdf" in wanted:
            html = render_html(document, info, brand, inline_css=False, interactive=False)
            out["pdf"] = render_pdf(html, stylesheet(info, brand, fonts=True), warnings=warnings,
                                    forms=document.type == MagnetType.TEMPLATE)
        if "docx" in wanted:
            out["docx"] = render_docx(document, brand)
        if "md" in wanted:
            out["md"] = render_markdown(document).encode()
    return BuildResult([_artifact(name, f, out[f]) for f in wanted], info.name, warnings)


def _infographic_pdf(svg: str, info: TemplateInfo, brand: BrandKit, warnings: list[str]) -> bytes:
    height = re.search(r'height="(\d+)"', svg)
    h = int(height.group(1)) if height else 1600
    page = Markup("<!doctype html><html><body>{}</body></html>").format(Markup(svg))
    css = (brand.font_faces() + f"\n@page {{ size: 1080px {h}px; margin: 0 }} body {{ margin: 0 }} "
           "svg { display: block }")
    return render_pdf(str(page), css, warnings=warnings)
