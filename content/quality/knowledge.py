"""An organization's knowledge base: reference documents cut into passages for fact checks.

Uploads are PDF (text extracted by pypdf, ``pdftotext`` as a fallback), HTML (visible text,
scripts and styles dropped) or Markdown/plain text. The type is sniffed from the bytes, not
trusted from the file name. Text is cut into passages of whole sentences (about
``PASSAGE_WORDS`` words, never across a heading) that keep their heading. Functions take a
metadata session and the organization id, filter every query by it, and leave the commit to
the caller (so an upload and its audit row share one transaction).
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from content.quality.text import sentences, words
from kernel.metadata.audit import Actor, record
from kernel.metadata.models import KnowledgeDocument, KnowledgePassage
from kernel.settings import Settings

PASSAGE_WORDS = 80
MAX_PDF_PAGES = 1000


class KnowledgeError(ValueError):
    """An upload that cannot become knowledge; ``str()`` says what to do (a 4xx for the API)."""


@dataclass(frozen=True)
class Extracted:
    """Text of an upload as (heading, paragraph) pairs, plus its media type and title."""

    media_type: str
    title: str
    blocks: list[tuple[str, str]]


def sniff(data: bytes) -> str:
    """Media type from the content: application/pdf, text/html or text/markdown."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "application/pdf"
    if b"\x00" in data[:4096]:
        raise KnowledgeError("the file is binary but not a PDF; upload a PDF, HTML or Markdown file")
    if head.startswith((b"<!doctype html", b"<html", b"<?xml")) or re.search(
            rb"<(body|p|h[1-6]|div|article|section)[\s>]", head):
        return "text/html"
    return "text/markdown"


def extract(data: bytes, filename: str = "") -> Extracted:
    """Text blocks of a PDF, HTML or Markdown upload (raises KnowledgeError)."""
    media_type = sniff(data)
    stem = Path(filename).stem.replace("_", " ").replace("-", " ").strip() if filename else ""
    if media_type == "application/pdf":
        title, blocks = _pdf(data)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise KnowledgeError("the file is not UTF-8 text; save it as UTF-8 and upload again") from exc
        title, blocks = _html(text) if media_type == "text/html" else _markdown(text)
    blocks = [(h, " ".join(t.split())) for h, t in blocks if t.strip()]
    if not blocks:
        hint = " (a scanned PDF needs OCR first)" if media_type == "application/pdf" else ""
        raise KnowledgeError(f"no text found in {filename or 'the upload'}{hint}")
    return Extracted(media_type, (title or stem or blocks[0][1][:80]).strip()[:300], blocks)


def _markdown(text: str) -> tuple[str, list[tuple[str, str]]]:
    title, heading = "", ""
    blocks: list[tuple[str, str]] = []
    para: list[str] = []
    in_code = False

    def flush() -> None:
        if para:
            blocks.append((heading, " ".join(para)))
            para.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*$", line)
        if m:
            flush()
            heading = _md_inline(m.group(2))
            title = title or heading
            continue
        if not line or re.match(r"^([-*_]\s*){3,}$", line):
            flush()
            continue
        if line.startswith("|") and set(line) <= set("|-: "):
            continue
        line = re.sub(r"^(\s*[-*+]\s+|\s*\d+[.)]\s+|>\s*)", "", line)
        if re.match(r"^[-*+]\s", raw.strip()) or re.match(r"^\d+[.)]\s", raw.strip()):
            flush()  # list items are passages of their own
        para.append(_md_inline(line.strip("| ").replace(" | ", "; ")))
    flush()
    return title, blocks


def _md_inline(text: str) -> str:
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__|\*|_|`)(.+?)\1", r"\2", text)
    return text


class _TextParser(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "svg", "head", "nav", "footer"}
    _BLOCK = {"p", "div", "li", "td", "th", "tr", "section", "article", "blockquote", "br",
              "dd", "dt", "figcaption", "pre", "table", "ul", "ol", "main", "header"}
    _HEAD = {"h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.heading = ""
        self.blocks: list[tuple[str, str]] = []
        self._buf: list[str] = []
        self._skip = 0
        self._in_title = False
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip += 1
        elif tag in self._HEAD:
            self._flush()
            self._in_head = True
        elif tag in self._BLOCK:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._HEAD:
            self.heading = " ".join("".join(self._buf).split())
            self.title = self.title or self.heading
            self._buf.clear()
            self._in_head = False
        elif tag in self._BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = self.title or data.strip()
        elif not self._skip:
            self._buf.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._buf).split())
        self._buf.clear()
        if text and not self._in_head:
            self.blocks.append((self.heading, text))

    def close(self) -> None:
        super().close()
        self._flush()


def _html(text: str) -> tuple[str, list[tuple[str, str]]]:
    parser = _TextParser()
    parser.feed(text)
    parser.close()
    return parser.title, parser.blocks


def _pdf(data: bytes) -> tuple[str, list[tuple[str, str]]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise KnowledgeError("the PDF is password-protected; upload an unprotected copy")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise KnowledgeError(f"the PDF has {len(reader.pages)} pages; the limit is {MAX_PDF_PAGES}")
        meta = reader.metadata
        title = str(meta.get("/Title") or "") if meta is not None else ""
        pages = [page.extract_text() or "" for page in reader.pages]
    except KnowledgeError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError):
        pages = _pdftotext(data)
        title = ""
    blocks: list[tuple[str, str]] = []
    for number, page in enumerate(pages, 1):
        for para in re.split(r"\n\s*\n", page):
            # pypdf ends every visual line with \n: join lines, undo hyphenation at line ends
            joined = re.sub(r"-\n(?=[a-z])", "", para).replace("\n", " ")
            if joined.strip():
                blocks.append((f"page {number}", joined))
    return title, blocks


def _pdftotext(data: bytes) -> list[str]:
    exe = shutil.which("pdftotext")
    if exe is None:
        raise KnowledgeError("the PDF could not be read (damaged or unusual); export it again")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(data)
        done = subprocess.run([exe, "-layout", str(src), "-"], capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        raise KnowledgeError("the PDF could not be read (damaged or unusual); export it again")
    return done.stdout.decode("utf-8", "replace").split("\f")


def chunk(blocks: list[tuple[str, str]], size: int = PASSAGE_WORDS) -> list[tuple[str, str]]:
    """Passages of whole sentences of about ``size`` words; a passage never spans two headings."""
    out: list[tuple[str, str]] = []
    current: list[str] = []
    heading = None
    count = 0
    for block_heading, text in blocks:
        if block_heading != heading and current:
            out.append((heading or "", " ".join(current)))
            current, count = [], 0
        heading = block_heading
        for sentence in sentences(text):
            n = len(words(sentence))
            if current and count + n > size:
                out.append((heading or "", " ".join(current)))
                current, count = [], 0
            current.append(sentence)
            count += n
    if current:
        out.append((heading or "", " ".join(current)))
    return out


def add_document(session: Session, org_id: str, data: bytes, *, filename: str = "",
                 title: str | None = None, created_by: str | None = None,
                 settings: Settings | None = None,
                 actor: Actor | None = None) -> KnowledgeDocument:
    """Store an upload and its passages (flushes; the caller commits); with ``actor`` the
    upload is audited.

    The same bytes uploaded twice by one organization return the first document.

    Raises:
        KnowledgeError: too large, not PDF/HTML/Markdown, unreadable or without text.
    """
    limit = settings.knowledge_max_bytes if settings else 20 * 1024 * 1024
    if not data:
        raise KnowledgeError("the upload is empty")
    if len(data) > limit:
        raise KnowledgeError(f"the upload is {len(data):,} bytes; the limit is {limit:,} "
                             "(LODESTONE_KNOWLEDGE_MAX_BYTES)")
    digest = hashlib.sha256(data).hexdigest()
    existing = session.scalars(sa.select(KnowledgeDocument).where(
        KnowledgeDocument.org_id == org_id, KnowledgeDocument.sha256 == digest)).first()
    if existing is not None:
        return existing
    extracted = extract(data, filename)
    passages = chunk(extracted.blocks)
    doc = KnowledgeDocument(
        org_id=org_id, title=(title or extracted.title)[:300], filename=Path(filename).name[:300],
        media_type=extracted.media_type, sha256=digest, size_bytes=len(data),
        chars=sum(len(t) for _, t in extracted.blocks), passage_count=len(passages),
        created_by=created_by,
        passages=[KnowledgePassage(org_id=org_id, position=i, heading=h[:300], text=t)
                  for i, (h, t) in enumerate(passages)],
    )
    session.add(doc)
    session.flush()
    if actor is not None:
        record(session, org_id=org_id, actor=actor, action="knowledge.uploaded",
               resource_type="knowledge_document", resource_id=doc.id,
               after={"title": doc.title, "sha256": doc.sha256, "passages": doc.passage_count})
    return doc


def list_documents(session: Session, org_id: str) -> list[KnowledgeDocument]:
    """The organization's knowledge documents, newest first."""
    return list(session.scalars(sa.select(KnowledgeDocument).where(
        KnowledgeDocument.org_id == org_id).order_by(KnowledgeDocument.created_at.desc())))


def delete_document(session: Session, org_id: str, document_id: str,
                    actor: Actor | None = None) -> bool:
    """Delete one of the organization's documents and its passages (audited with
    ``actor``); False when not found."""
    doc = session.scalars(sa.select(KnowledgeDocument).where(
        KnowledgeDocument.org_id == org_id, KnowledgeDocument.id == document_id)).first()
    if doc is None:
        return False
    session.delete(doc)
    session.flush()
    if actor is not None:
        record(session, org_id=org_id, actor=actor, action="knowledge.deleted",
               resource_type="knowledge_document", resource_id=document_id)
    return True
