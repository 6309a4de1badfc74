"""The deterministic offline generator: a structured, on-topic document with no model and no network.

The same brief always gives the same document (the random generator is seeded from the
brief). The writing comes from industry vocabulary (``content.vocabulary``) arranged into the
structure a good magnet of each type has: an ebook argues chapter by chapter (why, how,
mistakes, actions, evidence), a checklist groups steps by phase, a template has labelled
fields, a calculator has a meaningful model (ROI, payback, savings), an infographic has big
numbers, a chart and steps.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from content.document import Brief, Document, Industry, MagnetType, make_brief
from content.vocabulary import CALCULATORS, VOCAB, Vocab

INDUSTRY_LABEL = {Industry.SAAS: "SaaS", Industry.ECOMMERCE: "E-commerce", Industry.AGENCY: "Agency",
                  Industry.COACHING: "Coaching", Industry.REAL_ESTATE: "Real Estate", Industry.HEALTH: "Health"}
DEFAULT_AUDIENCE = {Industry.SAAS: "founders and growth leads of B2B software companies",
                    Industry.ECOMMERCE: "owners of growing online stores",
                    Industry.AGENCY: "owners of small marketing and design agencies",
                    Industry.COACHING: "independent coaches and consultants",
                    Industry.REAL_ESTATE: "independent agents and small brokerages",
                    Industry.HEALTH: "owners and managers of outpatient practices"}

_OPENERS = (
    "Most {business} owners agree that {topic} matters; far fewer have a routine for it.",
    "{Topic} is rarely one big project. It is a handful of habits repeated every week.",
    "When {customers} judge you, they judge the experience, and {topic} shapes that experience.",
    "The teams that get {topic} right do not work harder; they decide earlier what to measure.",
    "If you only change one thing this quarter, let it be how you approach {topic}.",
)
_WHY = (
    "{Metric} is the number that moves first when this stage works, and it moves in weeks, not quarters.",
    "Every point of {metric} compounds: it changes what you can afford to spend to win new {customers}.",
    "Ignore this stage and the cost shows up later as lower {metric2} and a busier {team_short}.",
    "This is where {customers} decide whether you are worth their time, so small fixes pay back quickly.",
)
_HOW = (
    "Start small: pick one segment of {customers}, write down today's {metric}, and change one thing.",
    "Give the work an owner. Without a name next to it, {lever} becomes everyone's job and nobody's.",
    "Use the tools you already pay for — {tool} is usually enough — before buying anything new.",
    "Review the result every two weeks with {team}, and keep what moved {metric}.",
    "Write the new routine down as a one-page playbook so the next person can run it without you.",
)
_CLOSERS = (
    "Do this well and the next stage gets easier, because {customers} arrive with the right expectations.",
    "None of this needs a large budget; it needs a calendar reminder and the discipline to look at {metric}.",
    "The payoff is steady rather than dramatic, and steady is what compounds.",
)
_QUOTES = (
    "What gets measured weekly gets improved monthly.",
    "{Customers} remember how the first week felt long after they forget the price.",
    "A routine you run every week beats a strategy you revisit every year.",
    "Clarity is a growth lever: say what happens next, and more people take the step.",
)


def _seed(brief: Brief, extra: str = "") -> int:
    key = f"{brief.type}|{brief.industry}|{brief.topic.lower()}|{brief.audience.lower()}|{extra}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


class _Writer:
    def __init__(self, brief: Brief, rng: random.Random) -> None:
        self.brief, self.rng, self.v = brief, rng, VOCAB[brief.industry]
        topic = brief.topic.rstrip(".")
        self.slots = {
            "topic": _lower_first(topic),
            "Topic": topic[0].upper() + topic[1:], "business": self.v.business,
            "customers": self.v.customers, "Customers": self.v.customers.capitalize(),
            "team": self.v.team, "team_short": "team", "audience": brief.audience,
        }

    def say(self, template: str, **extra: str) -> str:
        slots = dict(self.slots)
        slots.update(metric=self.rng.choice(self.v.metrics), metric2=self.rng.choice(self.v.metrics),
                     tool=self.rng.choice(self.v.tools), lever=self.rng.choice(self.v.levers))
        slots["Metric"] = slots["metric"][0].upper() + slots["metric"][1:]
        slots.update(extra)
        return template.format(**slots)

    def paragraph(self, *pools: tuple[str, ...], **extra: str) -> dict[str, Any]:
        used: set[str] = set()
        sentences = []
        for pool in pools:
            fresh = [t for t in pool if t not in used] or list(pool)
            template = self.rng.choice(fresh)
            used.add(template)
            sentences.append(self.say(template, **extra))
        return {"type": "paragraph", "text": " ".join(dict.fromkeys(sentences))}

    def series(self, n: int, start: float, growth: float) -> list[float]:
        values, x = [], start
        for _ in range(n):
            values.append(round(x, 1))
            x *= 1 + growth + self.rng.uniform(-growth / 2, growth / 2)
        return values


def _lower_first(text: str) -> str:
    """'Cutting churn' -> 'cutting churn', but 'SaaS pricing' and 'ROI' stay as written."""
    first = text.split(" ", 1)[0]
    return text if any(c.isupper() for c in first[1:]) else text[0].lower() + text[1:]


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def generate(brief: Brief, chapters: int | None = None) -> Document:
    """A complete document for ``brief``; ``chapters`` sets an ebook's length (8 by default, ~3 pages each)."""
    rng = random.Random(_seed(brief, str(chapters)))
    w = _Writer(brief, rng)
    v = w.v
    audience = brief.audience or DEFAULT_AUDIENCE[brief.industry]
    label = INDUSTRY_LABEL[brief.industry]
    base: dict[str, Any] = {"type": brief.type.value, "industry": brief.industry.value, "audience": audience,
                            "author": f"The {label} Growth Desk"}
    cta = {"type": "cta", "heading": rng.choice(("Want help putting this into practice?",
                                                 "Ready for the next step?", "Turn this into results")),
           "text": f"Book a 20-minute call and we will review your {rng.choice(v.metrics)} with you.",
           "button": "Book a call", "url": "https://example.com/book"}
    topic = w.slots["Topic"]
    build = {MagnetType.EBOOK: _ebook, MagnetType.CHECKLIST: _checklist, MagnetType.TEMPLATE: _template,
             MagnetType.CALCULATOR: _calculator, MagnetType.INFOGRAPHIC: _infographic}[brief.type]
    doc = build(w, topic, label, chapters)
    return Document.model_validate({**base, **doc, "cta": cta})


def generate_from(type: str, topic: str, industry: str = "saas", audience: str = "",
                  chapters: int | None = None) -> Document:
    """:func:`generate` from plain strings (validated; ``DocumentError`` on bad input)."""
    return generate(make_brief(type, topic, industry, audience), chapters)


def _ebook(w: _Writer, topic: str, label: str, chapters: int | None) -> dict[str, Any]:
    v, rng = w.v, w.rng
    n = max(1, min(chapters or 8, len(v.stages)))
    sections = []
    for i in range(n):
        stage, lever = v.stages[i], v.levers[i % len(v.levers)]
        metric = v.metrics[i % len(v.metrics)]
        steps = [_cap(w.say(t, lever=lever, metric=metric)) for t in (
            "Write down your current {metric} and the date you measured it",
            "Agree with {team} who owns the change",
            "{lever} for one segment of {customers} first",
            "Compare {metric} after two weeks against the baseline",
            "Roll out what worked and document it in your playbook")]
        blocks: list[dict[str, Any]] = [
            w.paragraph(_OPENERS, _WHY, _HOW),
            {"type": "heading", "text": f"Why {stage.lower()} comes {('first', 'next', 'now')[min(i, 2)]}"},
            w.paragraph(_WHY, _WHY, _CLOSERS, metric=metric),
            w.paragraph(_HOW, _HOW, _CLOSERS, metric=metric),
            {"type": "quote", "text": w.say(rng.choice(_QUOTES)), "pull": True,
             "attribution": f"{label} growth field notes"},
            {"type": "heading", "text": f"How to {lever}"},
            w.paragraph(_HOW, _HOW, metric=metric),
            {"type": "list", "ordered": True, "items": steps},
            {"type": "callout", "tone": "tip", "title": "Try this this week",
             "text": _cap(w.say("{lever} for ten {customers} and note what changes in {metric}.", lever=lever,
                                metric=metric))},
            {"type": "heading", "text": "What to measure"},
            w.paragraph(_WHY, _HOW, metric=metric),
            {"type": "table", "caption": f"{stage}: the numbers to watch",
             "columns": ["Metric", "Where to find it", "Review", "Good sign"],
             "rows": [[_cap(m), _cap(rng.choice(v.tools)), rng.choice(("Weekly", "Every two weeks", "Monthly")),
                       rng.choice(("Trending up for 3 periods", "Above last quarter", "Stable after a change"))]
                      for m in rng.sample(v.metrics, 4)]},
            {"type": "chart", "kind": "line" if i % 2 else "bar", "title": f"{_cap(metric)} over six months",
             "unit": "%", "labels": list(v.months),
             "series": [{"name": "Before", "values": w.series(6, rng.uniform(8, 20), 0.02)},
                        {"name": "With the routine", "values": w.series(6, rng.uniform(8, 20), 0.09)}],
             "source": "Illustrative figures for planning"},
            {"type": "heading", "text": "Mistakes to avoid"},
            {"type": "list", "items": [_cap(p) for p in rng.sample(v.pitfalls, 3)]},
            w.paragraph(_CLOSERS, _HOW, metric=metric),
            {"type": "checklist", "title": "Your action items",
             "items": [{"text": s} for s in steps[:3]]},
        ]
        sections.append({"title": f"{stage}: {_cap(lever)}", "summary": w.say(rng.choice(_WHY), metric=metric),
                         "blocks": blocks})
    return {"title": f"{topic}: The {label} Playbook", "sections": sections,
            "subtitle": f"A practical, step-by-step guide to {w.slots['topic']}",
            "summary": w.say("This guide turns {topic} into a weekly routine: what to measure, what to change "
                             "and how to tell that it worked, written for {audience_or}.",
                             audience_or=w.brief.audience or DEFAULT_AUDIENCE[w.brief.industry])}


def _checklist(w: _Writer, topic: str, label: str, chapters: int | None) -> dict[str, Any]:
    v, rng = w.v, w.rng
    sections: list[dict[str, Any]] = []
    for stage in v.stages[:5]:
        levers = rng.sample(v.levers, 4)
        items = [{"text": _cap(lv), "detail": w.say(rng.choice((
            "Owner: {team_short} lead · check {metric} after two weeks",
            "Done when it is written in your playbook", "Use {tool}; no new software needed",
            "Measure {metric} before and after")))} for lv in levers]
        items.append({"text": _cap(w.say("record this week's {metric}")), "detail": "Write the number and the date"})
        sections.append({"title": stage, "summary": w.say(rng.choice(_WHY)),
                         "blocks": [{"type": "checklist", "items": items}]})
    sections[-1]["blocks"].append({"type": "callout", "tone": "tip", "title": "Keep it going",
                                   "text": w.say("Repeat the list every quarter and compare {metric} with last time.")})
    return {"title": f"The {topic} Checklist", "subtitle": f"{len(sections) * 5} steps for {label.lower()} teams",
            "summary": w.say("Work through one phase at a time. Each step is small enough to finish in a week."),
            "sections": sections}


def _template(w: _Writer, topic: str, label: str, chapters: int | None) -> dict[str, Any]:
    v, rng = w.v, w.rng
    fields = [{"type": "field", "name": n, "label": lab, "kind": k,
               "placeholder": "" if k in ("date", "checkbox", "number") else f"e.g. {lab.lower()}"} for n, lab, k in v.fields]
    plan_rows = [[s, _cap(rng.choice(v.levers)), "", ""] for s in v.stages[:4]]
    return {
        "title": f"{topic} Planning Template", "subtitle": f"A fillable worksheet for {label.lower()} teams",
        "summary": w.say("Fill in one copy per initiative. Share it before work starts so everyone agrees on "
                         "the goal, the owner and how {metric} will be judged."),
        "sections": [
            {"title": "How to use this template", "blocks": [
                {"type": "list", "ordered": True, "items": [
                    "Fill in the details with the person who owns the work.",
                    w.say("Write the goal as a change in {metric}, with a date."),
                    "Agree the plan below in one meeting and sign it off.",
                    "Review it on the review date and record what happened."]}]},
            {"title": "Details", "blocks": fields[:4]},
            {"title": "Goal and measures", "blocks": fields[4:]},
            {"title": "Plan", "blocks": [
                {"type": "table", "caption": "Phases, actions and owners",
                 "columns": ["Phase", "Main action", "Owner", "Due"], "rows": plan_rows},
                {"type": "callout", "tone": "info", "title": "Tip",
                 "text": w.say("Keep each action small enough to finish in two weeks; {lever} is a good first one.")}]},
            {"title": "Sign-off", "blocks": [
                {"type": "field", "name": "approved_by", "label": "Approved by", "kind": "text"},
                {"type": "field", "name": "approved_on", "label": "Date", "kind": "date"},
                {"type": "field", "name": "notes", "label": "Notes", "kind": "textarea"}]},
        ]}


def _calculator(w: _Writer, topic: str, label: str, chapters: int | None) -> dict[str, Any]:
    spec = CALCULATORS[w.v.calculator]
    calc = {
        "inputs": [{"name": n, "label": lab, "default": d, "min": lo, "max": hi, "step": st, "format": f}
                   for n, lab, d, lo, hi, st, f in spec["inputs"]],
        "formulas": [{"name": n, "expression": e} for n, e in spec["formulas"]],
        "outputs": [{"name": n, "label": lab, "expression": e, "format": f, "decimals": d, "highlight": h}
                    for n, lab, e, f, d, h in spec["outputs"]],
    }
    return {
        "title": f"{spec['title']} calculator", "subtitle": f"For {_lower_first(topic)}",
        "summary": w.say("Enter your own numbers; the results update as you type. Nothing leaves your browser "
                         "until you choose to send it."),
        "calculator": calc,
        "sections": [{"title": "How the numbers are worked out", "blocks": [
            {"type": "list", "items": [f"{o[1]} = {o[2]}" for o in spec["outputs"]]},
            {"type": "callout", "tone": "info", "title": "Assumptions",
             "text": w.say("Figures are estimates from your inputs. Compare them with your actual {metric} "
                           "after a month.")}]}],
    }


def _infographic(w: _Writer, topic: str, label: str, chapters: int | None) -> dict[str, Any]:
    v, rng = w.v, w.rng
    stats = [{"type": "stat", "value": val, "label": lab} for val, lab in v.stats]
    metric = rng.choice(v.metrics)
    return {
        "title": f"{topic} at a glance", "subtitle": f"{label}: the numbers and the five steps",
        "summary": w.say("What moves {metric}, in one page."),
        "sections": [
            {"title": "By the numbers", "blocks": stats},
            {"title": f"{_cap(metric)} with a weekly routine", "blocks": [
                {"type": "chart", "kind": "bar", "title": f"{_cap(metric)}, six months", "unit": "%",
                 "labels": list(v.months), "series": [{"name": "With the routine",
                                                       "values": w.series(6, rng.uniform(10, 20), 0.08)}],
                 "source": "Illustrative figures"}]},
            {"title": "Five steps", "blocks": [
                {"type": "list", "ordered": True, "items": [_cap(x) for x in rng.sample(v.levers, 5)]}]},
            {"title": "Avoid", "blocks": [{"type": "callout", "tone": "warning", "title": "The common mistake",
                                           "text": _cap(rng.choice(v.pitfalls)) + "."}]},
        ]}


def vocab_for(industry: Industry) -> Vocab:
    return VOCAB[industry]
