"""Readability: Flesch-Kincaid grade of the prose (textstat) against the audience's limit.

The grade is computed on prose only (paragraphs, list and checklist items, callouts, quotes,
summaries), each fragment closed as a sentence. The limit depends on the reading level:
``general`` (default ``LODESTONE_QUALITY_GRADE_GENERAL`` = 9), ``professional`` (12) or
``expert`` (14); when the caller does not say, the level is inferred from the document's
audience line (e.g. "CFOs of mid-size companies" is professional).
"""

from __future__ import annotations

import re

import textstat

from content.document import Document
from content.quality.result import CheckResult, OrgContext
from content.quality.text import prose_text, sentences, words
from kernel.settings import Settings

LEVELS = ("general", "professional", "expert")
#: Below this many words a grade means little; the check passes and says so.
MIN_WORDS = 40

_EXPERT = re.compile(
    r"\b(researchers?|scientists?|physicians?|doctors?|clinicians?|surgeons?|lawyers?|attorneys?|"
    r"academics?|specialists?|experts?|engineers?|data scientists?|phds?)\b", re.I)
_PROFESSIONAL = re.compile(
    r"\b(founders?|executives?|ceos?|cfos?|ctos?|cmos?|vps?|directors?|managers?|leaders?|"
    r"marketers?|developers?|professionals?|owners?|operators?|analysts?|consultants?|agenc(?:y|ies)|"
    r"b2b|teams?|recruiters?|sales|investors?|coaches|practitioners?|brokers?|agents?|realtors?|"
    r"freelancers?|procurement|hr)\b", re.I)


def reading_level(document: Document, explicit: str | None = None) -> str:
    """The reading level to grade against: ``explicit`` if given, else inferred from audience."""
    if explicit:
        if explicit not in LEVELS:
            raise ValueError(f"reading level {explicit!r} is not one of {', '.join(LEVELS)}")
        return explicit
    audience = document.audience or ""
    if _EXPERT.search(audience):
        return "expert"
    if _PROFESSIONAL.search(audience):
        return "professional"
    return "general"


def grade_limit(level: str, settings: Settings) -> float:
    return {
        "general": settings.quality_grade_general,
        "professional": settings.quality_grade_professional,
        "expert": settings.quality_grade_expert,
    }[level]


def grade(text: str) -> float:
    """Flesch-Kincaid grade level of ``text`` (rounded to 0.1)."""
    return round(float(textstat.flesch_kincaid_grade(text)), 1)


def check_readability(document: Document, ctx: OrgContext) -> CheckResult:
    """Grade level of the prose vs the limit for its audience, with the hardest sentences."""
    level = reading_level(document, ctx.reading_level)
    limit = grade_limit(level, ctx.settings)
    text = prose_text(document)
    n_words = len(words(text))
    if n_words < MIN_WORDS:
        return CheckResult(
            "readability", True, None, limit,
            f"Only {n_words} words of prose: too little to grade (limit for {level} readers: "
            f"grade {limit:g}).", [{"level": level, "words": n_words}])
    value = grade(text)
    hardest = sorted(
        ({"sentence": s, "grade": grade(s)} for s in sentences(text) if len(words(s)) >= 8),
        key=lambda d: float(d["grade"]), reverse=True)[:3]  # type: ignore[arg-type]
    details = [{"level": level, "words": n_words,
                "flesch_reading_ease": round(float(textstat.flesch_reading_ease(text)), 1)}]
    details += hardest
    if value > limit:
        return CheckResult(
            "readability", False, value, limit,
            f"Reads at grade {value:g}; {level} readers need grade {limit:g} or lower. "
            "Shorten the sentences listed and prefer shorter words.", details)
    return CheckResult("readability", True, value, limit,
                       f"Reads at grade {value:g} (limit for {level} readers: {limit:g}).", details)
