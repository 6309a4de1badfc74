"""The typed, versioned document every lead magnet is made of, and its design choice.

A magnet's ``content`` JSON is a :class:`Document`; its ``design`` JSON is a :class:`Design`.
Everything that produces content (the offline generator, the AI pipeline, an editor, the API)
produces this model, and every renderer reads it: nobody stores hand-written HTML.

Blocks are a discriminated union on ``type``, so the JSON schema (``Document.model_json_schema()``)
is what a language model is asked to fill in. Every string and list has a limit, so a
malformed or hostile document is refused by validation instead of exhausting a renderer.

Older stored documents go through :func:`migrate`, which upgrades them step by step to
``SCHEMA_VERSION`` and validates the result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kernel.metadata.enums import MagnetType

__all__ = [
    "SCHEMA_VERSION", "MAX_TOPIC_CHARS", "MagnetType", "Industry", "Brief", "Block", "Heading",
    "Paragraph", "BulletList", "Checklist", "ChecklistItem", "Callout", "Quote", "Table",
    "Chart", "ChartSeries", "Stat", "Image", "CallToAction", "FormField", "Section",
    "CalcInput", "Formula", "CalcOutput", "Calculator", "Document", "Design", "DocumentError",
    "migrate", "parse_document", "make_brief", "describe_errors",
]

SCHEMA_VERSION: Literal[1] = 1
MAX_TOPIC_CHARS = 300

Short = Annotated[str, Field(min_length=1, max_length=200)]
Line = Annotated[str, Field(max_length=500)]
Text = Annotated[str, Field(min_length=1, max_length=5000)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")]


class DocumentError(ValueError):
    """A document, brief or design that cannot be used; ``str()`` is a message a person can act on."""


class Industry(StrEnum):
    """Industries the template library and the offline generator know."""

    SAAS = "saas"
    ECOMMERCE = "ecommerce"
    AGENCY = "agency"
    COACHING = "coaching"
    REAL_ESTATE = "real-estate"
    HEALTH = "health"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Brief(_Model):
    """What a magnet is about: the input of the offline generator and of the AI pipeline."""

    type: MagnetType
    topic: str = Field(description="what the magnet is about, one line")
    industry: Industry = Industry.SAAS
    audience: str = Field(default="", max_length=200, description="who reads it, e.g. 'founders of B2B startups'")

    @field_validator("topic")
    @classmethod
    def _topic(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("the topic is empty: say in a few words what the magnet is about")
        if len(v) > MAX_TOPIC_CHARS:
            raise ValueError(f"the topic is {len(v)} characters long; keep it to {MAX_TOPIC_CHARS} "
                             "(one line such as 'cutting churn in the first 90 days')")
        return v


# ---- blocks ------------------------------------------------------------------------------


class Heading(_Model):
    """A heading inside a section (the section title itself is level 1 of the section)."""

    type: Literal["heading"] = "heading"
    text: Short
    level: int = Field(default=2, ge=2, le=4)


class Paragraph(_Model):
    type: Literal["paragraph"] = "paragraph"
    text: Text


class BulletList(_Model):
    type: Literal["list"] = "list"
    items: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(min_length=1, max_length=100)
    ordered: bool = False


class ChecklistItem(_Model):
    text: Annotated[str, Field(min_length=1, max_length=300)]
    detail: Line = ""


class Checklist(_Model):
    """Items a reader ticks off; interactive in HTML, boxes on paper."""

    type: Literal["checklist"] = "checklist"
    title: Annotated[str, Field(max_length=200)] = ""
    items: list[ChecklistItem] = Field(min_length=1, max_length=100)


class Callout(_Model):
    type: Literal["callout"] = "callout"
    tone: Literal["info", "tip", "warning", "success"] = "info"
    title: Annotated[str, Field(max_length=200)] = ""
    text: Text


class Quote(_Model):
    """A quotation; ``pull=True`` sets it large as a pull quote in the ebook."""

    type: Literal["quote"] = "quote"
    text: Annotated[str, Field(min_length=1, max_length=1000)]
    attribution: Annotated[str, Field(max_length=200)] = ""
    pull: bool = False


class Table(_Model):
    type: Literal["table"] = "table"
    caption: Annotated[str, Field(max_length=300)] = ""
    columns: list[Annotated[str, Field(max_length=100)]] = Field(min_length=1, max_length=12)
    rows: list[list[Annotated[str, Field(max_length=500)]]] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _rectangular(self) -> Table:
        for i, row in enumerate(self.rows, 1):
            if len(row) != len(self.columns):
                raise ValueError(f"table row {i} has {len(row)} cells but the table has "
                                 f"{len(self.columns)} columns")
        return self


class ChartSeries(_Model):
    name: Annotated[str, Field(max_length=100)] = ""
    values: list[float] = Field(min_length=1, max_length=50)


class Chart(_Model):
    """Chart data (not a picture): rendered as SVG by every output."""

    type: Literal["chart"] = "chart"
    kind: Literal["bar", "line", "donut"] = "bar"
    title: Annotated[str, Field(max_length=200)] = ""
    unit: Annotated[str, Field(max_length=20)] = ""
    labels: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(min_length=1, max_length=50)
    series: list[ChartSeries] = Field(min_length=1, max_length=6)
    source: Annotated[str, Field(max_length=300)] = ""

    @model_validator(mode="after")
    def _aligned(self) -> Chart:
        for s in self.series:
            if len(s.values) != len(self.labels):
                raise ValueError(f"chart series {s.name or '#1'!r} has {len(s.values)} values "
                                 f"for {len(self.labels)} labels")
            if self.kind == "donut" and any(v < 0 for v in s.values):
                raise ValueError("a donut chart cannot show negative values")
        if self.kind == "donut" and len(self.series) != 1:
            raise ValueError("a donut chart has exactly one series")
        return self


class Stat(_Model):
    """A big number with its label (infographics, ebook highlights)."""

    type: Literal["stat"] = "stat"
    value: Annotated[str, Field(min_length=1, max_length=24)]
    label: Annotated[str, Field(min_length=1, max_length=200)]
    icon: Annotated[str, Field(max_length=40)] = ""


class Image(_Model):
    """An image from the template folder, the brand kit or a ``data:`` URI; ``alt`` is required."""

    type: Literal["image"] = "image"
    src: Annotated[str, Field(min_length=1, max_length=2_000_000)]
    alt: Annotated[str, Field(max_length=300)]
    caption: Annotated[str, Field(max_length=300)] = ""


class CallToAction(_Model):
    type: Literal["cta"] = "cta"
    heading: Short
    text: Annotated[str, Field(max_length=1000)] = ""
    button: Annotated[str, Field(min_length=1, max_length=60)] = "Get started"
    url: Annotated[str, Field(max_length=2000)] = ""

    @field_validator("url")
    @classmethod
    def _safe_url(cls, v: str) -> str:
        if v and not re.match(r"^(https?://|mailto:|/|#)", v, re.I):
            raise ValueError("a call-to-action link must start with https://, http://, mailto:, / or #")
        return v


class FormField(_Model):
    """A fillable field of a business template (HTML input, PDF form field, DOCX blank)."""

    type: Literal["field"] = "field"
    name: Identifier
    label: Short
    kind: Literal["text", "textarea", "date", "number", "email", "checkbox"] = "text"
    placeholder: Annotated[str, Field(max_length=200)] = ""
    help: Annotated[str, Field(max_length=300)] = ""
    required: bool = False


Block = Annotated[
    Heading | Paragraph | BulletList | Checklist | Callout | Quote | Table | Chart | Stat | Image
    | CallToAction | FormField,
    Field(discriminator="type"),
]


class Section(_Model):
    """A chapter of an ebook, a group of a checklist, a part of a template or infographic."""

    title: Short
    summary: Annotated[str, Field(max_length=1000)] = ""
    blocks: list[Block] = Field(default_factory=list, max_length=200)


# ---- calculators -------------------------------------------------------------------------


class CalcInput(_Model):
    name: Identifier
    label: Short
    default: float = 0.0
    min: float | None = None
    max: float | None = None
    step: float | None = Field(default=None, gt=0)
    format: Literal["number", "currency", "percent", "months", "integer"] = "number"
    help: Annotated[str, Field(max_length=300)] = ""

    @model_validator(mode="after")
    def _range(self) -> CalcInput:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"input {self.name!r}: min {self.min} is above max {self.max}")
        return self


class Formula(_Model):
    """An intermediate value: ``name = expression`` over inputs and earlier formulas."""

    name: Identifier
    expression: Annotated[str, Field(min_length=1, max_length=500)]


class CalcOutput(_Model):
    name: Identifier
    label: Short
    expression: Annotated[str, Field(min_length=1, max_length=500)]
    format: Literal["number", "currency", "percent", "months", "integer"] = "number"
    decimals: int = Field(default=0, ge=0, le=6)
    highlight: bool = False
    help: Annotated[str, Field(max_length=300)] = ""


class Calculator(_Model):
    """Inputs, formulas and outputs; formulas use the safe evaluator in ``content.formula``."""

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    inputs: list[CalcInput] = Field(min_length=1, max_length=30)
    formulas: list[Formula] = Field(default_factory=list, max_length=50)
    outputs: list[CalcOutput] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _names(self) -> Calculator:
        seen: set[str] = set()
        for name in [i.name for i in self.inputs] + [f.name for f in self.formulas] + [o.name for o in self.outputs]:
            if name in seen:
                raise ValueError(f"the name {name!r} is used twice in the calculator")
            seen.add(name)
        from content.formula import check_calculator  # late: formula imports nothing from here

        check_calculator(self)
        return self


# ---- the document ------------------------------------------------------------------------


class Document(_Model):
    """A lead magnet's content. ``schema_version`` is written with every stored copy."""

    schema_version: Literal[1] = SCHEMA_VERSION
    type: MagnetType
    title: Short
    subtitle: Annotated[str, Field(max_length=300)] = ""
    author: Annotated[str, Field(max_length=200)] = ""
    audience: Annotated[str, Field(max_length=200)] = ""
    industry: Industry | None = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"
    summary: Annotated[str, Field(max_length=2000)] = ""
    sections: list[Section] = Field(default_factory=list, max_length=100)
    calculator: Calculator | None = None
    cta: CallToAction | None = None

    @model_validator(mode="after")
    def _fits_type(self) -> Document:
        if self.type == MagnetType.CALCULATOR and self.calculator is None:
            raise ValueError("a calculator document needs a 'calculator' with inputs and outputs")
        if self.type != MagnetType.CALCULATOR and self.calculator is not None:
            raise ValueError(f"only a calculator has a 'calculator'; this document is a {self.type.value}")
        if self.type != MagnetType.CALCULATOR and not self.sections:
            raise ValueError(f"a {self.type.value} needs at least one section")
        return self

    def blocks(self) -> Iterator[tuple[Section, Block]]:
        """Every (section, block) pair in reading order."""
        for section in self.sections:
            for block in section.blocks:
                yield section, block

    def headings(self) -> list[str]:
        """Section titles and in-section headings, in order (what a reader sees as structure)."""
        out: list[str] = []
        for section in self.sections:
            out.append(section.title)
            out.extend(b.text for b in section.blocks if isinstance(b, Heading))
        return out

    def plain_text(self) -> str:
        """All reader-visible text as paragraphs separated by blank lines (checks, search)."""
        parts = [self.title, self.subtitle, self.summary]
        for section in self.sections:
            parts += [section.title, section.summary]
            for block in section.blocks:
                parts.extend(_block_text(block))
        if self.calculator:
            parts += [i.label for i in self.calculator.inputs] + [o.label for o in self.calculator.outputs]
        if self.cta:
            parts += [self.cta.heading, self.cta.text]
        return "\n\n".join(p for p in parts if p)

    def links(self) -> list[str]:
        """Every URL a reader can follow or an image source (link and alt-text checks)."""
        urls = [b.url for _, b in self.blocks() if isinstance(b, CallToAction) and b.url]
        urls += [b.src for _, b in self.blocks() if isinstance(b, Image)]
        if self.cta and self.cta.url:
            urls.append(self.cta.url)
        return urls


def _block_text(block: Any) -> list[str]:
    if isinstance(block, Heading | Paragraph):
        return [block.text]
    if isinstance(block, BulletList):
        return list(block.items)
    if isinstance(block, Checklist):
        return [block.title] + [f"{i.text} {i.detail}".strip() for i in block.items]
    if isinstance(block, Callout):
        return [block.title, block.text]
    if isinstance(block, Quote):
        return [block.text, block.attribution]
    if isinstance(block, Table):
        return [block.caption, " | ".join(block.columns)] + [" | ".join(r) for r in block.rows]
    if isinstance(block, Chart):
        return [block.title]
    if isinstance(block, Stat):
        return [f"{block.value} {block.label}"]
    if isinstance(block, Image):
        return [block.caption]
    if isinstance(block, CallToAction):
        return [block.heading, block.text]
    if isinstance(block, FormField):
        return [block.label, block.help]
    return []


class Design(_Model):
    """How a document looks: a template of the library and the brand kit to apply."""

    schema_version: Literal[1] = SCHEMA_VERSION
    template: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")] | None = Field(
        default=None, description="template name, e.g. 'saas-ebook'; None = the type's default")
    brand_kit: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="brand kit id of the organization; None = its default kit")


# ---- migrations --------------------------------------------------------------------------


def _v0_to_v1(raw: dict[str, Any], magnet_type: MagnetType | None) -> dict[str, Any]:
    """Version 0: the free JSON stored before the model existed (``title``/``headline`` and counts)."""
    mtype = raw.get("type") or magnet_type
    if mtype is None:
        raise DocumentError("this document has no schema_version and no type; pass the magnet's type")
    title = str(raw.get("title") or raw.get("headline") or "Untitled").strip()[:200] or "Untitled"
    summary = str(raw.get("subtitle") or raw.get("description") or "")[:2000]
    out: dict[str, Any] = {"schema_version": 1, "type": str(mtype), "title": title, "summary": summary}
    if mtype == MagnetType.CALCULATOR:
        out["calculator"] = {
            "inputs": [{"name": "value", "label": "Value", "default": 0}],
            "outputs": [{"name": "result", "label": "Result", "expression": "value"}],
        }
    else:
        body = summary or "This magnet was created before documents had a structure; edit it to add content."
        out["sections"] = [{"title": title, "blocks": [{"type": "paragraph", "text": body}]}]
    return out


_MIGRATIONS = {0: _v0_to_v1}


def migrate(raw: dict[str, Any], magnet_type: MagnetType | str | None = None) -> Document:
    """Upgrade a stored document of any earlier schema version and validate it.

    Args:
        raw: the stored ``content`` JSON (not modified).
        magnet_type: the magnet's type, used when a version-0 document does not carry one.

    Raises:
        DocumentError: unknown version, or the upgraded document fails validation.
    """
    if not isinstance(raw, dict):
        raise DocumentError("a document is a JSON object")
    data = dict(raw)
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or version < 0 or version > SCHEMA_VERSION:
        raise DocumentError(f"unknown schema_version {version!r}; this Lodestone reads 0..{SCHEMA_VERSION}")
    mtype = MagnetType(magnet_type) if magnet_type else None
    while version < SCHEMA_VERSION:
        data = _MIGRATIONS[version](data, mtype)
        version = data["schema_version"]
    return parse_document(data)


def parse_document(data: dict[str, Any] | str | bytes) -> Document:
    """Validate a current-version document (dict or JSON) with one readable error message."""
    try:
        if isinstance(data, str | bytes):
            return Document.model_validate_json(data)
        return Document.model_validate(data)
    except ValidationError as exc:
        raise DocumentError(describe_errors(exc)) from exc


def describe_errors(exc: ValidationError, limit: int = 5) -> str:
    """``'sections.0.title: String should have at most 200 characters; …'`` from a ValidationError."""
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "document"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def make_brief(type: MagnetType | str, topic: str, industry: Industry | str = Industry.SAAS,
               audience: str = "") -> Brief:
    """A validated :class:`Brief`, or :class:`DocumentError` with one readable line."""
    try:
        return Brief.model_validate({"type": type, "topic": topic, "industry": industry, "audience": audience})
    except ValidationError as exc:
        raise DocumentError(describe_errors(exc)) from exc
