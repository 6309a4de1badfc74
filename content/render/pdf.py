"""PDF through WeasyPrint, with no network and with parsed stylesheets and fonts reused.

``LocalFetcher`` serves ``data:`` URIs and files under the template library and the packaged
font directories only; anything else (``http://169.254.169.254/…``, ``file:///etc/…``) is not
fetched and becomes a build warning. One ``FontConfiguration`` and the parsed ``CSS`` of each
(template, brand) pair live for the whole process, so a long-running worker pays for font
loading and CSS parsing once.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from content.fonts import FONTS
from content.library import TEMPLATES_DIR

_LOCK = threading.Lock()


def _allowed_roots() -> list[Path]:
    roots = [TEMPLATES_DIR]
    roots += [p.parent for f in FONTS.values() for p in f.paths]
    return [r.resolve() for r in roots]


class LocalFetcher(URLFetcher):
    """A WeasyPrint fetcher that never leaves the machine's own template and font files."""

    def __init__(self, warnings: list[str] | None = None) -> None:
        super().__init__(timeout=1, allowed_protocols={"data", "file"}, allow_redirects=False)
        self.warnings = warnings if warnings is not None else []
        self.roots = _allowed_roots()

    def fetch(self, url: str, headers: Any = None) -> Any:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = Path(unquote(urlsplit(url).path)).resolve()
            if any(path.is_relative_to(root) for root in self.roots):
                return super().fetch(url, headers)
        self.warnings.append(f"not fetched (only local assets are used): {url[:200]}")
        raise ValueError(f"remote or non-local resource refused: {url[:200]}")


@functools.cache
def font_config() -> FontConfiguration:
    return FontConfiguration()


@functools.lru_cache(maxsize=64)
def _css(text: str) -> CSS:
    return CSS(string=text, base_url=TEMPLATES_DIR.as_uri() + "/", url_fetcher=LocalFetcher(),
               font_config=font_config())


def cached_css(text: str) -> CSS:
    """The parsed ``CSS`` for ``text`` (parsed once per process)."""
    with _LOCK:
        return _css(text)


def css_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def render_pdf(html: str, css_text: str, *, warnings: list[str] | None = None, forms: bool = False) -> bytes:
    """A PDF of ``html`` styled by ``css_text``; refused fetches are appended to ``warnings``."""
    fetcher = LocalFetcher(warnings)
    document = HTML(string=html, base_url=TEMPLATES_DIR.as_uri() + "/", url_fetcher=fetcher)
    stylesheet = cached_css(css_text)
    with _LOCK:  # one FontConfiguration is shared; WeasyPrint's layout is not documented thread-safe
        return document.write_pdf(stylesheets=[stylesheet], font_config=font_config(), pdf_forms=forms)


def pdf_to_png(pdf: bytes, dpi: int = 96, first_page_only: bool = True) -> bytes:
    """Page 1 of a PDF as PNG through poppler's ``pdftoppm`` (Debian ``poppler-utils``)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        args = ["pdftoppm", "-png", "-r", str(dpi), "-singlefile"]
        if first_page_only:
            args += ["-f", "1", "-l", "1"]
        subprocess.run([*args, str(src), str(Path(tmp) / "out")], check=True, capture_output=True, timeout=60)
        return (Path(tmp) / "out.png").read_bytes()
