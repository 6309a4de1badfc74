"""Fact check: statements with numbers or named claims, each matched to the knowledge base.

1. **Statements.** Prose is split into sentences. A sentence is a statement to check when it
   carries a significant number (a percentage, an amount of money, a decimal, a magnitude
   such as "2 million", a year or any number above 10, "3 in 4") or a named claim (a claim
   word such as "according to", "study", "survey", "leading", "first", "#1" together with a
   name). Questions are not statements.
2. **Retrieval.** The organization's passages are indexed with BM25 (bm25s) over stemmed
   content words; the top passages for each statement are candidates.
3. **Support.** A candidate supports the statement when it contains every number of the
   statement (42% = 42 percent; $1.2M = 1.2 million = 1,200,000) and at least
   ``LODESTONE_QUALITY_MIN_CLAIM_SUPPORT`` of its content words. Each statement is listed with
   its best passage, the BM25 score and the word coverage, or flagged unsupported with why.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import Any

import bm25s
import sqlalchemy as sa
from sqlalchemy.orm import Session

from content.document import Document
from content.quality.result import CheckResult, OrgContext
from content.quality.text import content_terms, segments, sentences, words
from kernel.metadata.models import KnowledgeDocument, KnowledgePassage

TOP_K = 5
_MAGNITUDE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "bn": 1e9,
              "b": 1e9, "billion": 1e9, "trillion": 1e12, "t": 1e12}
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9.,])(?P<cur>[$€£])?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?![A-Za-z0-9]*-?[A-Za-z]*\d|/\d)(?P<adj>-[a-z]+)?"
    r"(?:\s?(?P<mag>thousand|million|billion|trillion|bn|mm|[kmbt])\b)?"
    r"(?:\s?(?P<pct>%|percent\b|per cent\b|percentage points?\b))?"
    r"(?:\s?(?P<x>x|times)\b)?", re.I)
_RATIO = re.compile(r"\b\d+\s+(?:in|out of)\s+\d+\b", re.I)
_CLAIM_WORDS = re.compile(
    r"\b(according to|stud(?:y|ies)|survey(?:ed|s)?|reports?|reported|found that|"
    r"research (?:from|by|shows|found)|proven|certified|award(?:ed|s)?|award-winning|ranked|rated|"
    r"leading|largest|biggest|best-selling|number one|founded in|invented|endorsed|"
    r"recommended by|trusted by)\b|#1", re.I)
_NAME = re.compile(r"\b[A-Z][a-zA-Z&]+")


@dataclass(frozen=True)
class Quantity:
    value: float
    percent: bool

    def matches(self, other: Quantity) -> bool:
        return self.percent == other.percent and abs(self.value - other.value) <= 1e-9 * max(1.0, abs(self.value))


def quantities(text: str) -> list[Quantity]:
    """Numbers in ``text`` normalized to values (magnitudes applied, percentages marked)."""
    out = []
    for m in _NUMBER.finditer(text):
        value = float(m.group("num").replace(",", ""))
        mag = (m.group("mag") or "").lower()
        if mag:
            value *= _MAGNITUDE[mag]
        out.append(Quantity(value, bool(m.group("pct"))))
    return out


def significant_numbers(sentence: str, ignore: tuple[Quantity, ...] = ()) -> list[Quantity]:
    """Numbers that make a sentence a factual statement.

    Not: small counts ("step 3", "5 tips"), adjectives ("a 20-minute call", "a 90-day plan")
    and numbers of the document's own title (``ignore``: "the first 90 days" is its topic).
    """
    out: list[Quantity] = []
    for m in _NUMBER.finditer(sentence):
        raw = m.group("num")
        if m.group("adj") and not m.group("pct"):
            continue
        if any(q.matches(i) for q in quantities(m.group(0)) for i in ignore):
            continue
        if m.group("cur") or m.group("pct") or m.group("mag") or m.group("x") or "." in raw \
                or "," in raw or float(raw) > 10:
            out.extend(quantities(m.group(0)))
    if _RATIO.search(sentence):
        out.extend(quantities(_RATIO.search(sentence).group(0)))  # type: ignore[union-attr]
    return out


def is_named_claim(sentence: str) -> bool:
    """A claim word with a name in the sentence ("Gartner ranked us the leading ...")."""
    if not _CLAIM_WORDS.search(sentence):
        return False
    first, *rest = sentence.split(maxsplit=1)
    if not rest:
        return False
    reporter = re.match(r"(reports?|found|finds|says|shows?|ranked|rated|estimates?)\b", rest[0], re.I)
    return bool(_NAME.search(rest[0])) or bool(reporter and first[:1].isupper())


@dataclass(frozen=True)
class Statement:
    text: str
    where: str
    numbers: tuple[Quantity, ...]


def statements(document: Document) -> list[Statement]:
    """Sentences of the document's prose that state numbers or named claims."""
    out: list[Statement] = []
    seen: set[str] = set()
    topic = tuple(quantities(f"{document.title} {document.subtitle}"))
    for seg in segments(document):
        if not seg.prose:
            continue
        for sentence in sentences(seg.text):
            if sentence.endswith("?") or " = " in sentence or sentence in seen:
                continue
            numbers = significant_numbers(sentence, topic)
            if numbers or is_named_claim(sentence):
                seen.add(sentence)
                out.append(Statement(sentence, seg.where, tuple(numbers)))
    return out


@dataclass
class _Index:
    ids: list[str]
    texts: list[str]
    titles: list[str]
    headings: list[str]
    terms: list[set[str]]
    numbers: list[list[Quantity]]
    bm25: bm25s.BM25 | None


_CACHE: OrderedDict[tuple[str, str], _Index] = OrderedDict()
_CACHE_LOCK = Lock()
_CACHE_SIZE = 16


def knowledge_index(session: Session, org_id: str) -> _Index:
    """The organization's BM25 index, rebuilt when its documents change (LRU of 16 orgs)."""
    fingerprint_rows = session.execute(
        sa.select(KnowledgeDocument.id, KnowledgeDocument.passage_count)
        .where(KnowledgeDocument.org_id == org_id).order_by(KnowledgeDocument.id)).all()
    key = (org_id, ";".join(f"{i}:{n}" for i, n in fingerprint_rows))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    rows = session.execute(
        sa.select(KnowledgePassage.id, KnowledgePassage.text, KnowledgePassage.heading,
                  KnowledgeDocument.title)
        .join(KnowledgeDocument, KnowledgeDocument.id == KnowledgePassage.document_id)
        .where(KnowledgePassage.org_id == org_id, KnowledgeDocument.org_id == org_id)
        .order_by(KnowledgePassage.document_id, KnowledgePassage.position)).all()
    corpus = [content_terms(f"{heading} {text}") for _, text, heading, _ in rows]
    retriever = None
    if rows:
        retriever = bm25s.BM25()
        retriever.index([c or ["_"] for c in corpus], show_progress=False)
    index = _Index(
        ids=[r[0] for r in rows], texts=[r[1] for r in rows], headings=[r[2] for r in rows],
        titles=[r[3] for r in rows], terms=[set(c) | set(words(r[1])) for c, r in zip(corpus, rows, strict=True)],
        numbers=[quantities(r[1]) for r in rows], bm25=retriever)
    with _CACHE_LOCK:
        _CACHE[key] = index
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return index


def support(statement: Statement, index: _Index, min_support: float) -> dict[str, Any]:
    """The best passage for a statement and whether it supports it."""
    query = content_terms(statement.text)
    result: dict[str, Any] = {"statement": statement.text, "where": statement.where,
                              "supported": False, "passage": None, "score": 0.0, "coverage": 0.0}
    if index.bm25 is None or not query:
        result["reason"] = "the knowledge base is empty" if index.bm25 is None else "no content words"
        return result
    k = min(TOP_K, len(index.ids))
    docs, scores = index.bm25.retrieve([query], k=k, show_progress=False)
    best: tuple[Any, ...] | None = None
    unique_terms = set(query)
    for pos, score in zip(docs[0], scores[0], strict=True):
        i = int(pos)
        coverage = len(unique_terms & index.terms[i]) / len(unique_terms)
        numbers_ok = all(any(q.matches(p) for p in index.numbers[i]) for q in statement.numbers)
        rank = (numbers_ok and coverage >= min_support, numbers_ok, coverage, float(score))
        if best is None or rank > best[0]:
            best = (rank, i, coverage, numbers_ok, float(score))
    assert best is not None
    (_, i, coverage, numbers_ok, score) = best
    if score <= 0 and coverage == 0:
        result["reason"] = "no passage shares its words"
        return result
    result.update(
        supported=bool(numbers_ok and coverage >= min_support), score=round(score, 3),
        coverage=round(coverage, 3),
        passage={"id": index.ids[i], "document": index.titles[i], "heading": index.headings[i],
                 "text": index.texts[i][:400]})
    if not numbers_ok:
        missing = [q for q in statement.numbers if not any(q.matches(p) for p in index.numbers[i])]
        shown = ", ".join(f"{q.value:g}{'%' if q.percent else ''}" for q in missing)
        result["reason"] = f"no passage states {shown}"
    elif coverage < min_support:
        result["reason"] = (f"the best passage shares only {coverage:.0%} of its words "
                            f"(needs {min_support:.0%})")
    return result


def check_facts(document: Document, ctx: OrgContext) -> CheckResult:
    """Statements with numbers or named claims, each with its best supporting passage."""
    limit = ctx.settings.quality_max_unsupported_claims
    found = statements(document)
    index = knowledge_index(ctx.session, ctx.org_id)
    if index.bm25 is None:
        return CheckResult(
            "facts", True, float(len(found)), float(limit),
            f"No knowledge base uploaded: {len(found)} statements with numbers or named claims "
            "are listed unverified. Upload reference documents to check them.",
            [{"statement": s.text, "where": s.where, "supported": None} for s in found])
    results = [support(s, index, ctx.settings.quality_min_claim_support) for s in found]
    unsupported = [r for r in results if not r["supported"]]
    n = len(unsupported)
    if n > limit:
        return CheckResult(
            "facts", False, float(n), float(limit),
            f"{n} of {len(found)} statements have no supporting passage in the knowledge base "
            f"(allowed: {limit}); first: {unsupported[0]['statement'][:100]!r} "
            f"({unsupported[0].get('reason', 'unsupported')}).", results)
    return CheckResult("facts", True, float(n), float(limit),
                       f"{len(found) - n} of {len(found)} statements are supported by the "
                       "knowledge base.", results)


