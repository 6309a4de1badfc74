"""Required sections per magnet type: what a reader of each type expects to find.

Each rule is a name, a test on the document and the fix to suggest. The value is the number
of rules the document misses; the threshold is 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from content.document import (
    Callout,
    CallToAction,
    Chart,
    Checklist,
    Document,
    FormField,
    MagnetType,
    Paragraph,
    Stat,
    Table,
)
from content.quality.result import CheckResult, OrgContext


@dataclass(frozen=True)
class Rule:
    name: str
    test: Callable[[Document], bool]
    fix: str


def _count(doc: Document, kind: type | tuple[type, ...]) -> int:
    return sum(1 for _, b in doc.blocks() if isinstance(b, kind))


def _has_cta(doc: Document) -> bool:
    return doc.cta is not None or _count(doc, CallToAction) > 0


def _has_intro(doc: Document) -> bool:
    if doc.summary.strip():
        return True
    first = doc.sections[0] if doc.sections else None
    return bool(first and (first.summary or any(isinstance(b, Paragraph) for b in first.blocks)))


def _every_section_has_prose(doc: Document) -> bool:
    return all(s.summary or any(isinstance(b, Paragraph) for b in s.blocks) for s in doc.sections)


def _checklist_items(doc: Document) -> int:
    return sum(len(b.items) for _, b in doc.blocks() if isinstance(b, Checklist))


_CTA = Rule("call to action", _has_cta, "add a call to action (what the reader does next)")
_INTRO = Rule("introduction", _has_intro, "add a summary or an opening paragraph")

RULES: dict[MagnetType, list[Rule]] = {
    MagnetType.EBOOK: [
        _INTRO,
        Rule("at least 3 chapters", lambda d: len(d.sections) >= 3, "add chapters until there are 3"),
        Rule("prose in every chapter", _every_section_has_prose,
             "give every chapter at least one paragraph"),
        _CTA,
    ],
    MagnetType.CHECKLIST: [
        _INTRO,
        Rule("at least 5 checklist items", lambda d: _checklist_items(d) >= 5,
             "add checklist items until there are 5"),
        _CTA,
    ],
    MagnetType.TEMPLATE: [
        _INTRO,
        Rule("fillable fields", lambda d: _count(d, FormField) >= 1,
             "add at least one field the reader fills in"),
        Rule("instructions",
             lambda d: _count(d, (Paragraph, Callout)) >= 1 or any(s.summary for s in d.sections),
             "add a paragraph that says how to use the template"),
        _CTA,
    ],
    MagnetType.CALCULATOR: [
        _INTRO,
        Rule("inputs and outputs",
             lambda d: d.calculator is not None and bool(d.calculator.inputs and d.calculator.outputs),
             "give the calculator inputs and outputs"),
        _CTA,
    ],
    MagnetType.INFOGRAPHIC: [
        Rule("at least 3 data points", lambda d: _count(d, (Stat, Chart, Table)) >= 3,
             "add stats, charts or tables until there are 3"),
        Rule("a source for the data",
             lambda d: any(isinstance(b, Chart) and b.source for _, b in d.blocks())
             or any("source" in s.title.lower() for s in d.sections)
             or "source" in d.plain_text().lower(),
             "say where the numbers come from (a chart source or a 'Sources' section)"),
        _CTA,
    ],
}


def check_structure(document: Document, ctx: OrgContext | None = None) -> CheckResult:
    """Count the required parts of the document's type that are missing."""
    rules = RULES.get(MagnetType(document.type), [])
    missing = [{"requirement": r.name, "fix": r.fix} for r in rules if not r.test(document)]
    value = float(len(missing))
    kind = MagnetType(document.type).value
    if missing:
        return CheckResult(
            "structure", False, value, 0.0,
            f"This {kind} is missing: " + "; ".join(f"{m['requirement']} ({m['fix']})" for m in missing)
            + ".", missing)
    return CheckResult("structure", True, 0.0, 0.0,
                       f"Every part a {kind} needs is there ({len(rules)} requirements).",
                       [{"requirement": r.name, "fix": ""} for r in rules])
