"""Broken links and missing alt texts, checked without ever fetching a URL.

A link is every call-to-action URL, every image source and every URL written in the text.
``http(s)`` links must be well formed (a public host name with a dot, no credentials, no
raw IP address, no spaces) and, when ``LODESTONE_QUALITY_LINK_ALLOWLIST`` lists domains, on
one of them or a subdomain. ``#anchor`` links must name an id the rendered document has (an
ebook's ``#ch-2`` or ``#next-step``, a template's ``#f-<field>``...; see :func:`anchors`).
``mailto:`` needs an address. Images must be sources the renderers keep (a file name of the
template or brand folder, ``data:image/...;base64,``): rendering never fetches remote
images, so a remote image is missing from the PDF.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from content.document import CallToAction, Document, FormField, Image, MagnetType
from content.quality.result import CheckResult, OrgContext
from content.quality.text import segments

_URL_IN_TEXT = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'()\[\]]+", re.I)
_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_GENERIC_ALT = {"image", "picture", "photo", "img", "graphic", "icon", "untitled", "alt", "figure"}
_FILENAME = re.compile(r"^[\w\-. ]+\.(png|jpe?g|gif|svg|webp|avif|bmp)$", re.I)


def anchors(document: Document) -> set[str]:
    """Fragment ids the rendered document has (the ``id`` attributes of the base templates).

    tests/content/test_quality.py renders a document of every type and checks each of these
    ids is in the HTML, so a template change that drops one fails a test.
    """
    kind = MagnetType(document.type)
    out: set[str] = set()
    if kind == MagnetType.EBOOK:
        out |= {f"ch-{i}" for i in range(1, len(document.sections) + 1)}
        if document.cta is not None:
            out.add("next-step")
    elif kind == MagnetType.CHECKLIST:
        out.add("checklist")
    elif kind == MagnetType.TEMPLATE:
        out.add("doc-form")
        out |= {f"f-{b.name}" for _, b in document.blocks() if isinstance(b, FormField)}
    elif kind == MagnetType.CALCULATOR and document.calculator is not None:
        out |= {"calc", "calc-form"}
        out |= {f"in-{i.name}" for i in document.calculator.inputs}
        out |= {f"out-{o.name}" for o in document.calculator.outputs}
    return out


def allowlist(ctx: OrgContext) -> list[str]:
    return [d.strip().lower().lstrip(".") for d in ctx.settings.quality_link_allowlist.split(",") if d.strip()]


def link_problem(url: str, doc_anchors: set[str], allowed: list[str]) -> str | None:
    """Why ``url`` is broken, or None when it is fine (never fetched)."""
    if url.startswith("#"):
        return None if url[1:] in doc_anchors else f"no section or heading has the anchor {url!r}"
    if url.startswith("/"):
        return None if not url.startswith("//") and " " not in url else "malformed site-relative path"
    lowered = url.lower()
    if lowered.startswith("www."):
        url = "https://" + url
    elif lowered.startswith("mailto:"):
        address = url[7:].split("?", 1)[0]
        return None if _EMAIL.match(address) else f"{address!r} is not an email address"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"links may use https, http, mailto, / or #, not {parts.scheme or 'no scheme'!r}"
    if " " in url or "\\" in url:
        return "the address contains spaces or backslashes"
    if parts.username or parts.password:
        return "the address carries a user name or password"
    try:
        port = parts.port
    except ValueError:
        return "the port is not a number between 0 and 65535"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "the address has no host"
    try:
        ipaddress.ip_address(host)
        return "the address is a raw IP address; link to a domain name"
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return f"{host!r} is not a valid domain name"
    if not _HOST.match(ascii_host) or ascii_host.endswith((".local", ".localhost", ".internal")):
        return f"{host!r} is not a public domain name"
    if port is not None and port == 0:
        return "port 0 is not valid"
    if allowed and not any(ascii_host == d or ascii_host.endswith("." + d) for d in allowed):
        return f"{ascii_host} is not on the link allow-list ({', '.join(allowed)})"
    return None


#: Image sources the renderers keep (content/render/html.py ``_safe_src``); others are dropped.
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml);base64,", re.I)
_LOCAL_IMAGE = re.compile(r"^[\w./-]+$")


def image_problem(src: str) -> str | None:
    """Why an image source will be missing from an output, or None."""
    lowered = src.lower()
    if lowered.startswith("data:"):
        return None if _DATA_IMAGE.match(src) else \
            "a data: image must be data:image/(png|jpeg|gif|webp|svg+xml);base64,..."
    if lowered.startswith(("http://", "https://", "//")):
        return ("remote image: rendering never fetches it, so it is missing from the PDF and "
                "loads from a third party in HTML; upload it or embed it as data:")
    if not _LOCAL_IMAGE.match(src):
        return f"the renderer drops this image source ({src[:40]!r}): use a file name or a data: URI"
    if ".." in src.split("/") or src.startswith("/"):
        return "image paths must stay inside the template or brand folder"
    return None


def collect_links(document: Document) -> list[dict[str, str]]:
    """Every link with where it is: CTA URLs, image sources and URLs in the text."""
    out: list[dict[str, str]] = []
    for i, section in enumerate(document.sections, 1):
        for j, block in enumerate(section.blocks, 1):
            where = f"section {i} ({section.title[:60]}) › {block.type} {j}"
            if isinstance(block, CallToAction) and block.url:
                out.append({"url": block.url, "where": where, "kind": "link"})
            elif isinstance(block, Image):
                out.append({"url": block.src, "where": where, "kind": "image"})
    if document.cta is not None and document.cta.url:
        out.append({"url": document.cta.url, "where": "call to action", "kind": "link"})
    for seg in segments(document):
        for match in _URL_IN_TEXT.finditer(seg.text):
            out.append({"url": match.group(0).rstrip(".,;:!?"), "where": seg.where, "kind": "link"})
    return out


def check_links(document: Document, ctx: OrgContext) -> CheckResult:
    """Count broken links (form, anchors, allow-list, local images)."""
    doc_anchors = anchors(document)
    allowed = allowlist(ctx)
    links = collect_links(document)
    broken: list[dict[str, Any]] = []
    for link in links:
        problem = (image_problem(link["url"]) if link["kind"] == "image"
                   else link_problem(link["url"], doc_anchors, allowed))
        if problem:
            broken.append({**link, "url": link["url"][:300], "problem": problem})
    if broken:
        first = broken[0]
        return CheckResult(
            "links", False, float(len(broken)), 0.0,
            f"{len(broken)} of {len(links)} links are broken; first: {first['url'][:80]!r} in "
            f"{first['where']}: {first['problem']}.", broken)
    return CheckResult("links", True, 0.0, 0.0,
                       f"All {len(links)} links are well formed (none was fetched).")


def alt_problem(alt: str, src: str) -> str | None:
    text = alt.strip()
    if not text:
        return "no alt text"
    if text.lower() in _GENERIC_ALT or _FILENAME.match(text) or text == src.rsplit("/", 1)[-1]:
        return f"alt text {text!r} does not describe the image"
    return None


def check_alt_texts(document: Document, ctx: OrgContext | None = None) -> CheckResult:
    """Count images whose alt text is missing or says nothing (a file name, 'image')."""
    images = [(i, section, block) for i, section in enumerate(document.sections, 1)
              for block in section.blocks if isinstance(block, Image)]
    missing = []
    for i, section, block in images:
        problem = alt_problem(block.alt, block.src)
        if problem:
            missing.append({"where": f"section {i} ({section.title[:60]})",
                            "src": block.src[:120], "problem": problem})
    if missing:
        return CheckResult(
            "alt_text", False, float(len(missing)), 0.0,
            f"{len(missing)} of {len(images)} images lack a useful alt text; describe what each "
            "shows for readers who cannot see it.", missing)
    return CheckResult("alt_text", True, 0.0, 0.0, f"All {len(images)} images have alt text.")
