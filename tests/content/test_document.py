from __future__ import annotations

import json

import pytest

from content.document import (
    MAX_TOPIC_CHARS,
    Document,
    DocumentError,
    MagnetType,
    make_brief,
    migrate,
    parse_document,
)
from content.offline import generate_from


def _doc(**over):
    raw = {"type": "ebook", "title": "Guide", "sections": [{"title": "One", "blocks": [
        {"type": "paragraph", "text": "Hello."}]}]}
    raw.update(over)
    return raw


def test_json_schema_is_a_discriminated_union_with_limits() -> None:
    schema = Document.model_json_schema()
    text = json.dumps(schema)
    assert '"discriminator"' in text and '"propertyName": "type"' in text
    assert schema["properties"]["title"]["maxLength"] == 200
    assert schema["$defs"]["Section"]["properties"]["blocks"]["maxItems"] == 200
    assert schema["additionalProperties"] is False


def test_round_trip_of_a_generated_document_keeps_every_block() -> None:
    doc = generate_from("ebook", "Pricing a SaaS product", "saas", chapters=3)
    again = parse_document(doc.model_dump_json())
    assert again == doc
    kinds = {b.type for _, b in doc.blocks()}
    assert {"heading", "paragraph", "list", "checklist", "callout", "quote", "table", "chart"} <= kinds


@pytest.mark.parametrize(("over", "needle"), [
    ({"title": "x" * 201}, "title"),
    ({"sections": [{"title": "S", "blocks": [{"type": "paragraph", "text": "p"}] * 201}]}, "200"),
    ({"sections": [{"title": "S", "blocks": [{"type": "video", "src": "x"}]}]}, "video"),
    ({"sections": [{"title": "S", "blocks": [{"type": "table", "columns": ["a", "b"], "rows": [["1"]]}]}]},
     "row 1 has 1 cells"),
    ({"sections": [{"title": "S", "blocks": [{"type": "chart", "labels": ["a", "b"], "series": [{"values": [1]}]}]}]},
     "1 values for 2 labels"),
    ({"sections": []}, "at least one section"),
    ({"cta": {"heading": "Go", "url": "javascript:alert(1)"}}, "must start with"),
    ({"unknown": 1}, "unknown"),
])
def test_bad_documents_are_refused_with_a_readable_message(over, needle) -> None:
    with pytest.raises(DocumentError) as err:
        parse_document(_doc(**over))
    assert needle in str(err.value)


def test_calculator_formulas_are_checked_when_the_document_is_validated() -> None:
    calc = {"inputs": [{"name": "a", "label": "A"}],
            "outputs": [{"name": "r", "label": "R", "expression": "a * b"}]}
    with pytest.raises(DocumentError, match="reads b"):
        parse_document({"type": "calculator", "title": "C", "calculator": calc})
    calc["outputs"][0]["expression"] = "__import__('os')"
    with pytest.raises(DocumentError, match="unexpected character"):
        parse_document({"type": "calculator", "title": "C", "calculator": calc})
    with pytest.raises(DocumentError, match="only a calculator"):
        parse_document(_doc(calculator={"inputs": [{"name": "a", "label": "A"}],
                                        "outputs": [{"name": "r", "label": "R", "expression": "a"}]}))


def test_topics_empty_or_too_long_are_refused() -> None:
    with pytest.raises(DocumentError, match="10000 characters long; keep it to 300"):
        make_brief("ebook", "x" * 10_000)
    with pytest.raises(DocumentError, match="topic is empty"):
        make_brief("ebook", "   ")
    with pytest.raises(DocumentError, match="industry"):
        make_brief("ebook", "ok", industry="mining")
    assert make_brief("ebook", "  a   b ").topic == "a b"
    assert len(make_brief("ebook", "y" * MAX_TOPIC_CHARS).topic) == MAX_TOPIC_CHARS


def test_migrate_upgrades_version_0_content() -> None:
    doc = migrate({"title": "The SaaS Growth Playbook", "chapters": 6}, MagnetType.EBOOK)
    assert doc.schema_version == 1 and doc.title == "The SaaS Growth Playbook" and doc.sections
    calc = migrate({"headline": "ROI"}, "calculator")
    assert calc.calculator is not None and calc.title == "ROI"
    current = generate_from("checklist", "Launch", "ecommerce").model_dump(mode="json")
    assert migrate(current) == parse_document(current)
    with pytest.raises(DocumentError, match="no type"):
        migrate({"title": "x"})
    with pytest.raises(DocumentError, match="unknown schema_version 9"):
        migrate({"schema_version": 9})


def test_text_helpers_for_checks() -> None:
    doc = generate_from("ebook", "Onboarding", "health", chapters=2)
    text = doc.plain_text()
    assert doc.title in text and doc.sections[1].title in text
    assert doc.headings()[0] == doc.sections[0].title
    assert "https://example.com/book" in doc.links()
