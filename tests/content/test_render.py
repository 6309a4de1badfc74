"""Every template of every type renders: text findable, HTML well-formed, TOC numbers true, no script injection."""

from __future__ import annotations

import io
import re
import threading
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pypdf import PdfReader

from content.build import FORMATS, build
from content.document import Design, MagnetType
from content.library import list_templates
from content.offline import generate_from
from tests.content.builds import XSS, artifact, build_of, headings, pdf_pages

NAMES = [t.name for t in list_templates()]
VOID = {"meta", "link", "input", "img", "br", "hr", "source", "col", "area", "base", "wbr", "track", "embed"}


class _Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in VOID:
            self.stack.append(tag)
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _parse(html: str) -> _Balance:
    p = _Balance()
    p.feed(html)
    p.close()
    assert not p.errors, p.errors[:3]
    assert p.stack == [], p.stack
    return p


@pytest.mark.parametrize("name", NAMES)
def test_every_template_builds_every_format_of_its_type(name: str, tmp_path: Path) -> None:
    doc, result = build_of(name)
    assert [a.name.rsplit(".", 1)[1] for a in result.artifacts] == list(FORMATS[doc.type])
    assert result.warnings == []
    for a in result.artifacts:
        assert a.size > 500 and len(a.sha256) == 64
        if a.name.endswith(".pdf"):
            text = "\n".join(pdf_pages(a.data, tmp_path))
            flat = re.sub(r"-\s+", "-", " ".join(text.split()))  # words hyphenated at a line end
            assert XSS.lower() in flat.lower()  # the hostile title is printed as text (some themes set it in capitals)
            if doc.type != MagnetType.INFOGRAPHIC:
                for h in headings(doc)[:6]:
                    assert " ".join(h.split()).lower() in flat.lower(), h
        if a.name.endswith(".html"):
            html = a.data.decode()
            page = _parse(html)
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
            assert not any("alert(1)" in s for s in page.scripts)
            assert '<meta name="viewport"' in html  # mobile-first
        if a.name.endswith(".svg"):
            root = ET.fromstring(a.data)
            texts = " ".join((t.text or "") for t in root.iter("{http://www.w3.org/2000/svg}text"))
            assert "&lt;script&gt;" in a.data.decode() and "script" not in {el.tag.split("}")[1] for el in root.iter()}
            assert doc.sections[0].title in texts  # text stays text
        if a.name.endswith(".png"):
            assert a.data.startswith(b"\x89PNG")


@pytest.mark.parametrize("name", [n for n in NAMES if n.endswith("-ebook")])
def test_ebook_toc_page_numbers_match_where_chapters_land(name: str, tmp_path: Path) -> None:
    doc, _ = build_of(name)
    assert len(doc.sections) >= 2
    pages = pdf_pages(artifact(name, "pdf"), tmp_path)
    toc = pages[1]
    for number, section in enumerate(doc.sections, 1):
        m = re.search(rf"{number:02d}\s+{re.escape(section.title[:30])}.*?(\d+)\s*$", toc, re.M)
        assert m, (section.title, toc)
        landed = next(i for i, p in enumerate(pages, 1)
                      if f"chapter {number}" in p.lower() and section.title[:30].lower() in p.lower())
        assert int(m.group(1)) == landed
        # running header names the chapter on its pages
        assert section.title[:30] in pages[landed].splitlines()[0]  # the running header of the next page
        assert doc.title[:30] in pages[landed].splitlines()[0]
    assert doc.cta is not None and doc.cta.heading.lower() in " ".join(pages[-1].split()).lower()


def test_template_pdf_has_real_form_fields_and_docx_and_markdown(tmp_path: Path) -> None:
    name = "saas-template"
    doc, _ = build_of(name)
    fields = PdfReader(io.BytesIO(artifact(name, "pdf"))).get_fields() or {}
    names = {b.name for s in doc.sections for b in s.blocks if getattr(b, "type", "") == "field"}
    assert names <= set(fields), names - set(fields)
    from docx import Document as Docx

    d = Docx(io.BytesIO(artifact(name, "docx")))
    text = "\n".join(p.text for p in d.paragraphs) + "\n".join(c.text for t in d.tables for r in t.rows for c in r.cells)
    assert XSS in text and doc.sections[1].title in text
    md = artifact(name, "md").decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md and "<script>" not in md


class _Spy(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Spy.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_remote_urls_are_never_fetched_and_the_build_says_so(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Spy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        doc = generate_from("checklist", "Safety", "health")
        local = f"http://127.0.0.1:{server.server_address[1]}/pixel.png"
        blocks = [{"type": "image", "src": "http://169.254.169.254/x.png", "alt": "metadata"},
                  {"type": "image", "src": local, "alt": "spy"},
                  {"type": "image", "src": "file:///etc/passwd", "alt": "secret"}]
        raw = doc.model_dump(mode="json")
        raw["sections"][0]["blocks"] = blocks + raw["sections"][0]["blocks"]
        from content.document import parse_document

        result = build(parse_document(raw), Design(), formats=["pdf"])
        assert _Spy.hits == []
        joined = " ".join(result.warnings)
        assert "169.254.169.254" in joined and "127.0.0.1" in joined
        assert b"root:" not in result.artifacts[0].data  # a file: URL is dropped before rendering
        assert result.artifacts[0].data.startswith(b"%PDF")
    finally:
        server.shutdown()


def test_checklist_html_keeps_ticks_offline_and_is_printable() -> None:
    html = artifact("saas-checklist", "html").decode()
    assert "localStorage" in html and 'data-key="s0-b0-i0"' in html
    assert "@media print" in html and "http://" not in html.split("<body", 1)[1].replace("https://example.com/book", "")


def test_calculator_html_is_small_and_self_contained() -> None:
    import gzip

    for name in [n for n in NAMES if n.endswith("-calculator")]:
        data = artifact(name, "html")
        assert len(gzip.compress(data)) <= 50 * 1024
        assert b"LodestoneFormula" in data and b"<script src" not in data


def test_brand_kit_colours_reach_every_output() -> None:
    from content.brand import BrandKit

    brand = BrandKit(company="Acme Rockets", colors={"primary": "#7a1fa2", "accent": "#0b6e4f"})
    for mtype in MagnetType:
        doc = generate_from(mtype.value, "Colour test", "agency")
        fmt = "svg" if mtype == MagnetType.INFOGRAPHIC else "html"
        data = build(doc, Design(), brand, formats=[fmt]).artifacts[0].data.decode()
        assert "#7a1fa2" in data and "Acme Rockets" in data, mtype
