"""Prompts of the pipeline steps. Each returns chat messages; the schema travels separately."""

from __future__ import annotations

from typing import Any

from content.document import Brief, Document
from content.quality.voice_rules import Voice

SYSTEM = (
    "You write lead magnets (ebooks, checklists, templates, calculators, infographics) for "
    "businesses. Write concrete, useful, original text for the stated audience. Never invent "
    "statistics, studies or named sources: state a number only when the input gives it. "
    "Answer only with JSON that matches the requested schema."
)


def _messages(user: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def research(brief: Brief) -> list[dict[str, Any]]:
    return _messages(
        f"Plan a {brief.type.value} about: {brief.topic}\nIndustry: {brief.industry.value}\n"
        f"Audience: {brief.audience or 'not given'}\n"
        "Give the angle, the reader's pains, the key points, an outline (sections with points) and "
        "the facts a writer would have to verify.")


def generate(brief: Brief, notes: str) -> list[dict[str, Any]]:
    return _messages(
        f"Write the complete {brief.type.value} document about: {brief.topic}\n"
        f"Industry: {brief.industry.value}\nAudience: {brief.audience or 'not given'}\n"
        + (f"Research notes (JSON): {notes}\n" if notes else "")
        + f"The document's type must be {brief.type.value!r}. Include an introduction (summary), "
        "the sections a good magnet of this type has, and a call to action.")


def optimize(document: Document, level: str) -> list[dict[str, Any]]:
    grade = {"general": 9, "professional": 12, "expert": 14}.get(level, 9)
    return _messages(
        f"Improve this document for {level} readers: clear headings, short sentences (grade "
        f"{grade} or lower), an introduction and a call to action. Keep its type, its facts and "
        f"every number unchanged.\nDocument (JSON): {document.model_dump_json()}")


def visualize(document: Document) -> list[dict[str, Any]]:
    return _messages(
        "Add charts, stat blocks or tables where the text already holds data that a picture "
        "explains better. Use only numbers the document states; do not invent data. Keep all "
        f"text and its type.\nDocument (JSON): {document.model_dump_json()}")


def personalize(document: Document, voice: Voice) -> list[dict[str, Any]]:
    parts = [f"Rewrite this document in the brand voice. Tone: {voice.tone or 'as it is'}."]
    if voice.use:
        parts.append(f"Prefer these words: {', '.join(voice.use)}.")
    if voice.avoid:
        parts.append(f"Never use these words: {', '.join(voice.avoid)}.")
    if voice.examples:
        parts.append("Examples of the brand's writing:\n" + "\n---\n".join(voice.examples[:3]))
    parts.append("Keep the structure, the type, the facts and every number.")
    parts.append(f"Document (JSON): {document.model_dump_json()}")
    return _messages("\n".join(parts))
