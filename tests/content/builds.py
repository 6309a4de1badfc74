"""Every template built once per test session (shared by test_render.py and test_templates.py)."""

from __future__ import annotations

import functools
import logging
import subprocess
from pathlib import Path

from content.build import BuildResult, build
from content.document import Document, Heading
from content.library import list_templates
from content.offline import generate_from

XSS = "<script>alert(1)</script>"
logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


def sample(name: str) -> Document:
    """The template's sample document, with a hostile title, short enough to render fast."""
    info = next(t for t in list_templates() if t.name == name)
    doc = generate_from(info.type.value, info.sample["topic"], info.industry.value, chapters=2)
    return doc.model_copy(update={"title": f"{XSS} {doc.title}"[:200]})


@functools.cache
def build_of(name: str) -> tuple[Document, BuildResult]:
    """The sample document of template ``name`` and its build (once per session)."""
    doc = sample(name)
    return doc, build(doc, template_design(name))


def template_design(name: str):  # noqa: ANN201 - Design, imported lazily like the rest
    from content.document import Design

    return Design(template=name)


def artifact(name: str, ext: str) -> bytes:
    return next(a.data for a in build_of(name)[1].artifacts if a.name.endswith("." + ext))


def pdf_pages(pdf: bytes, tmp: Path) -> list[str]:
    """Text of each page (pdftotext), in order."""
    path = tmp / "doc.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def headings(doc: Document) -> list[str]:
    out = [s.title for s in doc.sections]
    out += [b.text for s in doc.sections for b in s.blocks if isinstance(b, Heading)]
    return out
