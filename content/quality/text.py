"""Reader-visible text of a document, cut into located segments, sentences and words.

Every check reads the document through these helpers so that they agree on what a reader
sees: prose (paragraphs, lists, callouts, quotes, checklist items, stats) is graded and
fact-checked; titles and table cells count for uniqueness and voice but are not prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from content.document import (
    BulletList,
    Callout,
    CallToAction,
    Checklist,
    Document,
    FormField,
    Heading,
    Image,
    Paragraph,
    Quote,
    Stat,
    Table,
)

WORD_RE = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[\"“(]?[A-Z0-9$€£])")

#: Common English function words; they carry no claim and no topic.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves per via vs our us may might must shall can't don't won't it's""".split()
)


@dataclass(frozen=True)
class Segment:
    """One piece of reader-visible text and where it is (``"Section title › paragraph 2"``)."""

    text: str
    where: str
    prose: bool


def segments(document: Document) -> list[Segment]:
    """Every reader-visible text of ``document`` in reading order, with its location."""
    out: list[Segment] = []

    def add(text: str, where: str, prose: bool) -> None:
        if text and text.strip():
            out.append(Segment(text.strip(), where, prose))

    add(document.title, "title", False)
    add(document.subtitle, "subtitle", False)
    add(document.summary, "summary", True)
    for s_index, section in enumerate(document.sections, 1):
        base = f"section {s_index} ({section.title[:60]})"
        add(section.title, f"{base} › title", False)
        add(section.summary, f"{base} › summary", True)
        for b_index, block in enumerate(section.blocks, 1):
            where = f"{base} › {getattr(block, 'type', 'block')} {b_index}"
            for text, prose in _block_texts(block):
                add(text, where, prose)
    if document.calculator is not None:
        for item in list(document.calculator.inputs) + list(document.calculator.outputs):
            add(item.label, f"calculator › {item.name}", False)
            add(item.help, f"calculator › {item.name} › help", True)
    if document.cta is not None:
        add(document.cta.heading, "call to action", False)
        add(document.cta.text, "call to action", True)
    return out


def _block_texts(block: Any) -> list[tuple[str, bool]]:
    if isinstance(block, Paragraph):
        return [(block.text, True)]
    if isinstance(block, Heading):
        return [(block.text, False)]
    if isinstance(block, BulletList):
        return [(item, True) for item in block.items]
    if isinstance(block, Checklist):
        return [(block.title, False)] + [
            (f"{i.text}. {i.detail}" if i.detail else i.text, True) for i in block.items
        ]
    if isinstance(block, Callout):
        return [(block.title, False), (block.text, True)]
    if isinstance(block, Quote):
        return [(block.text, True), (block.attribution, False)]
    if isinstance(block, Stat):
        return [(f"{block.value} {block.label}", True)]
    if isinstance(block, Table):
        return [(block.caption, False), (" ".join(block.columns), False)] + [
            (" ".join(row), False) for row in block.rows
        ]
    if isinstance(block, Image):
        return [(block.caption, False)]
    if isinstance(block, CallToAction):
        return [(block.heading, False), (block.text, True)]
    if isinstance(block, FormField):
        return [(block.label, False), (block.help, True)]
    title = getattr(block, "title", "")
    return [(title, False)] if isinstance(title, str) else []


def full_text(document: Document) -> str:
    """All reader-visible text, one segment per line (uniqueness, voice)."""
    return "\n".join(s.text for s in segments(document))


def prose_text(document: Document) -> str:
    """Prose only, every segment closed by a full stop so that fragments read as sentences."""
    parts = []
    for seg in segments(document):
        if seg.prose:
            text = seg.text
            parts.append(text if text[-1] in ".!?:;" else text + ".")
    return " ".join(parts)


def sentences(text: str) -> list[str]:
    """Split prose into sentences (keeps decimals such as 3.5 and abbreviations like e.g.)."""
    out: list[str] = []
    for line in text.splitlines():
        out.extend(p.strip() for p in _SENTENCE_END.split(line) if p.strip())
    return out


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return [w.lower().replace("’", "'") for w in WORD_RE.findall(text)]


def stem(word: str) -> str:
    """A light English stem so that 'churns', 'churned' and 'churning' meet."""
    for suffix in ("ing", "edly", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word


def content_terms(text: str) -> list[str]:
    """Stemmed words that are not stop words (retrieval and support scoring)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def document_text(raw: Any, magnet_type: str | None = None) -> str:
    """Reader-visible text of a stored ``content`` JSON (any schema version) or model answer.

    Falls back to every string value in the JSON when it is not a valid document, so that a
    legacy or hand-edited magnet is still compared rather than skipped.
    """
    from content.document import DocumentError, migrate

    if isinstance(raw, dict):
        try:
            return full_text(migrate(raw, magnet_type))
        except (DocumentError, ValueError):
            return "\n".join(_strings(raw))
    return str(raw or "")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in ("type", "schema_version") for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
