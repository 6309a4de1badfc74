"""The AI pipeline: research -> generate -> optimize -> visualize -> personalize.

Each step is a function of its own (call one, or compose them with :func:`run`). With an
endpoint configured (``LODESTONE_OPENAI_BASE_URL``) every step is one structured model call
(see :mod:`content.ai.client`); without one every step is deterministic and offline: the
draft comes from :func:`content.offline.generate`, optimize fills a missing introduction and
call to action, visualize turns numeric tables into charts, personalize swaps the brand's
avoided words for its replacements. Offline steps are recorded in ``ai_generations`` too
(model ``offline``, zero tokens) so that drafts are compared by the uniqueness check.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from content.ai import prompts
from content.ai.client import CallContext, ask
from content.ai.usage import record
from content.document import Brief, Chart, Document, Paragraph, Table
from content.quality.voice_rules import Voice, phrase_pattern
from kernel.metadata.enums import GenerationStatus

STEPS = ("research", "generate", "optimize", "visualize", "personalize")
OFFLINE_MODEL = "offline"


class OutlineItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    points: list[str] = Field(default_factory=list, max_length=12)


class Research(BaseModel):
    """What the draft should say: angle, reader's problems, key points, outline, facts to verify."""

    model_config = ConfigDict(extra="forbid")
    angle: str = Field(min_length=1, max_length=500)
    pains: list[str] = Field(default_factory=list, max_length=12)
    key_points: list[str] = Field(min_length=1, max_length=20)
    outline: list[OutlineItem] = Field(min_length=1, max_length=40)
    facts_to_verify: list[str] = Field(default_factory=list, max_length=30)


@dataclass
class PipelineResult:
    """The final document, the research behind it and which steps ran (and how)."""

    document: Document
    research: Research | None
    steps: list[str] = field(default_factory=list)
    offline: bool = False


# ---- steps -------------------------------------------------------------------------------


def research(brief: Brief, ctx: CallContext) -> Research:
    """Angle, pains, key points and an outline for ``brief``."""
    if ctx.offline:
        return _offline(ctx, "research", brief.model_dump_json(), lambda: _offline_research(brief))
    return ask(ctx, "research", prompts.research(brief), Research)


def generate(brief: Brief, ctx: CallContext, research_notes: Research | None = None) -> Document:
    """A complete document of ``brief.type`` (validated against the document schema)."""
    if ctx.offline:
        from content.offline import generate as offline_generate

        return _offline(ctx, "generate", brief.model_dump_json(), lambda: offline_generate(brief))
    notes = research_notes.model_dump_json() if research_notes else ""
    return ask(ctx, "generate", prompts.generate(brief, notes), Document, check=_same_type(brief.type))


def optimize(document: Document, ctx: CallContext, reading_level: str = "general") -> Document:
    """Clearer headings and shorter sentences for the reading level; facts and numbers kept."""
    if ctx.offline:
        return _offline(ctx, "optimize", document.model_dump_json(), lambda: _offline_optimize(document))
    return ask(ctx, "optimize", prompts.optimize(document, reading_level), Document,
               check=_keeps(document))


def visualize(document: Document, ctx: CallContext) -> Document:
    """Charts, stats and tables from the data the text already has (never invented numbers)."""
    if ctx.offline:
        return _offline(ctx, "visualize", document.model_dump_json(), lambda: _offline_visualize(document))
    return ask(ctx, "visualize", prompts.visualize(document), Document, check=_keeps(document))


def personalize(document: Document, ctx: CallContext, voice: Voice | Any | None) -> Document:
    """The brand voice: its tone, its words to use, none of its words to avoid."""
    brand = Voice.from_any(voice)
    if brand is None or not (brand.tone or brand.use or brand.avoid):
        return document
    if ctx.offline:
        return _offline(ctx, "personalize", document.model_dump_json(),
                        lambda: _offline_personalize(document, brand))

    def check(doc: Document) -> str | None:
        problem = _keeps(document)(doc)
        if problem:
            return problem
        text = doc.plain_text()
        left = [w for w in brand.avoid if phrase_pattern(w).search(text)]
        return f"the brand never uses {', '.join(map(repr, left))}; rewrite without them" if left else None

    return ask(ctx, "personalize", prompts.personalize(document, brand), Document, check=check)


def run(brief: Brief, ctx: CallContext, *, voice: Voice | Any | None = None,
        steps: tuple[str, ...] = STEPS, reading_level: str = "general") -> PipelineResult:
    """Run the chosen steps in pipeline order; ``generate`` is always part of it.

    ``voice`` defaults to the organization's stored brand voice (``settings["brand"]["voice"]``);
    personalize is skipped when there is none.

    Raises:
        ValueError: an unknown step name. Errors of :mod:`content.ai.errors` from a step.
    """
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ValueError(f"unknown pipeline steps {unknown}; known: {', '.join(STEPS)}")
    if voice is None:
        from content.quality.checks import org_voice

        with ctx.sessions() as session:
            voice = org_voice(session, ctx.org_id)
    notes = research(brief, ctx) if "research" in steps else None
    document = generate(brief, ctx, notes)
    done: list[str] = ["research", "generate"] if notes is not None else ["generate"]
    if "optimize" in steps:
        document = optimize(document, ctx, reading_level)
        done.append("optimize")
    if "visualize" in steps:
        document = visualize(document, ctx)
        done.append("visualize")
    if "personalize" in steps and voice is not None:
        document = personalize(document, ctx, voice)
        done.append("personalize")
    return PipelineResult(document, notes, done, ctx.offline)


# ---- answer checks -----------------------------------------------------------------------


def _same_type(kind: Any) -> Any:
    def check(doc: Document) -> str | None:
        return None if doc.type == kind else f"the document must be of type {kind.value!r}, not {doc.type.value!r}"
    return check


def _keeps(original: Document) -> Any:
    """A rewrite keeps the type and every number the original states (no invented or lost facts)."""
    from content.quality.factcheck import quantities

    before = {(q.value, q.percent) for q in quantities(original.plain_text())}

    def check(doc: Document) -> str | None:
        if doc.type != original.type:
            return f"keep the document type {original.type.value!r}"
        after = {(q.value, q.percent) for q in quantities(doc.plain_text())}
        lost = before - after
        if len(lost) > max(2, len(before) // 10):
            shown = ", ".join(f"{v:g}{'%' if p else ''}" for v, p in sorted(lost)[:6])
            return f"keep the numbers of the original; these are missing: {shown}"
        return None
    return check


# ---- offline steps -----------------------------------------------------------------------


def _offline(ctx: CallContext, step: str, prompt: str, make: Any) -> Any:
    started = time.monotonic()
    value = make()
    record(ctx.sessions, org_id=ctx.org_id, magnet_id=ctx.magnet_id, step=step, model=OFFLINE_MODEL,
           prompt=prompt, response=value.model_dump_json(), tokens_in=0, tokens_out=0,
           latency_ms=int((time.monotonic() - started) * 1000), status=GenerationStatus.SUCCEEDED,
           created_by=ctx.created_by)
    return value


def _offline_research(brief: Brief) -> Research:
    from content.offline import generate as offline_generate

    doc = offline_generate(brief)
    outline = [OutlineItem(title=s.title, points=[b.text for b in s.blocks if b.type == "heading"][:12])
               for s in doc.sections] or [OutlineItem(title=doc.title)]
    firsts = [next((b.text for b in s.blocks if isinstance(b, Paragraph)), s.summary) for s in doc.sections]
    points = [p.split(". ")[0].rstrip(".") + "." for p in firsts if p][:20] or [doc.summary or doc.title]
    return Research(angle=doc.subtitle or doc.summary[:500] or doc.title, key_points=points,
                    outline=outline[:40], pains=[], facts_to_verify=[])


def _offline_optimize(doc: Document) -> Document:
    data = doc.model_dump(mode="json")
    if not data.get("summary"):
        first = next((b.text for _, b in doc.blocks() if isinstance(b, Paragraph)), "")
        data["summary"] = first.split(". ")[0][:2000]
    if data.get("cta") is None and not any(b.type == "cta" for _, b in doc.blocks()):
        data["cta"] = {"type": "cta", "heading": "Take the next step",
                       "text": "Put one idea from this guide to work this week.", "button": "Get started"}
    for section in data.get("sections", []):
        for block in section["blocks"]:
            if block.get("type") == "paragraph":
                block["text"] = re.sub(r"\s+", " ", block["text"]).strip()
    return Document.model_validate(data)


def _numeric(cell: str) -> float | None:
    match = re.fullmatch(r"\s*[$€£]?\s*(-?\d[\d,]*(?:\.\d+)?)\s*%?\s*", cell)
    return float(match.group(1).replace(",", "")) if match else None


def _offline_visualize(doc: Document) -> Document:
    data = doc.model_dump(mode="json")
    for section, raw_section in zip(doc.sections, data.get("sections", []), strict=True):
        has_chart = any(isinstance(b, Chart) for b in section.blocks)
        out = []
        for block, raw in zip(section.blocks, raw_section["blocks"], strict=True):
            out.append(raw)
            if has_chart or not isinstance(block, Table) or len(block.columns) < 2 or len(block.rows) > 50:
                continue
            values = [_numeric(row[1]) for row in block.rows]
            if len(values) >= 2 and all(v is not None for v in values):
                out.append({"type": "chart", "kind": "bar", "title": block.caption or block.columns[1],
                            "labels": [row[0][:60] or "-" for row in block.rows],
                            "series": [{"name": block.columns[1][:100], "values": values}]})
                has_chart = True
        raw_section["blocks"] = out
    return Document.model_validate(data)


def _offline_personalize(doc: Document, voice: Voice) -> Document:
    if not voice.replacements:
        return doc
    text = doc.model_dump_json()
    data = json.loads(text)

    def swap(value: Any) -> Any:
        if isinstance(value, str):
            for word, replacement in voice.replacements.items():
                value = phrase_pattern(word).sub(replacement, value)
            return value
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, dict):
            return {k: (v if k in ("type", "url", "src", "name", "expression") else swap(v)) for k, v in value.items()}
        return value

    return Document.model_validate(swap(data))
