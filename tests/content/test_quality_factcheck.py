"""Fact check against an uploaded knowledge base (Markdown, HTML and a PDF made here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from content.document import parse_document
from content.quality import (
    KnowledgeError,
    add_document,
    delete_document,
    list_documents,
    org_context,
)
from content.quality.factcheck import check_facts, statements
from content.quality.knowledge import extract
from kernel.settings import Settings
from tests.content.metadata_db import migrated_sqlite, new_org
from tests.helpers import make_settings

MARKDOWN = b"""# Churn benchmarks 2024

## Retention

Our 2024 customer survey of 1,200 SaaS companies found that median monthly churn was 3.5%
for companies under $1M in annual revenue.

Companies that ran an onboarding call in the first week kept 18% more customers after a year.

## Pricing

- Annual plans cut churn by 40 percent compared with monthly plans.
"""

HTML = b"""<!doctype html><html><head><title>Support handbook</title>
<style>p { color: red }</style><script>var secret = "Acme support answers in 90 seconds";</script>
</head><body><nav>Home | Pricing</nav><h1>Support handbook</h1>
<h2>Response times</h2><p>The support team answers 92% of tickets within 4 hours on business days.</p>
<p>Gartner ranked Acme Support the leading help desk for small teams in 2023.</p>
</body></html>"""

PDF_HTML = """<html><head><title>Security overview</title></head><body><h1>Security overview</h1>
<p>Acme stores customer data in two data centres in Frankfurt and backs it up every 6 hours.</p>
<p>The platform kept 99.95% uptime over the last twelve months.</p></body></html>"""


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    engine, factory = migrated_sqlite(tmp_path_factory.mktemp("facts"))
    yield factory
    engine.dispose()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    from weasyprint import HTML as WeasyHTML

    return WeasyHTML(string=PDF_HTML).write_pdf()  # type: ignore[no-any-return]


def draft(*paragraphs: str) -> object:
    return parse_document({"type": "ebook", "title": "Keeping customers", "sections": [
        {"title": "Facts", "blocks": [{"type": "paragraph", "text": p} for p in paragraphs]}]})


def test_uploads_are_sniffed_extracted_and_cut_into_passages(factory, settings, pdf_bytes) -> None:  # type: ignore[no-untyped-def]
    md = extract(MARKDOWN, "benchmarks.md")
    assert md.media_type == "text/markdown" and md.title == "Churn benchmarks 2024"
    assert ("Pricing", "Annual plans cut churn by 40 percent compared with monthly plans.") in md.blocks
    html = extract(HTML, "handbook.txt")  # the name lies; the bytes decide
    assert html.media_type == "text/html" and html.title == "Support handbook"
    text = " ".join(t for _, t in html.blocks)
    assert "92% of tickets" in text and "90 seconds" not in text and "color" not in text
    pdf = extract(pdf_bytes, "security.pdf")
    assert pdf.media_type == "application/pdf"
    assert "99.95% uptime" in " ".join(t for _, t in pdf.blocks)

    org = new_org(factory)
    with factory.begin() as session:
        doc = add_document(session, org, MARKDOWN, filename="benchmarks.md", settings=settings)
        assert doc.passage_count == len(doc.passages) == 2  # one per heading (short sections)
        assert doc.passages[0].heading == "Retention"
        again = add_document(session, org, MARKDOWN, filename="copy.md", settings=settings)
        assert again.id == doc.id  # same bytes: the same document
    with factory.begin() as session:
        assert [d.title for d in list_documents(session, org)] == ["Churn benchmarks 2024"]
        assert list_documents(session, new_org(factory)) == []


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "binary but not a PDF"),
    (b"%PDF-1.7 this is not really a pdf", "could not be read|no text"),
    (b"\xff\xfe bad utf8 \xff", "not UTF-8"),
    (b"x" * 3000, "limit is 2,048"),
])
def test_bad_uploads_are_refused_with_a_reason(factory, tmp_path, data: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    small = make_settings(tmp_path / "d", knowledge_max_bytes=2048)
    with factory.begin() as session, pytest.raises(KnowledgeError, match=message):
        add_document(session, new_org(factory), data, filename="f.pdf", settings=small)


def test_supported_and_unsupported_statements(factory, settings, pdf_bytes) -> None:  # type: ignore[no-untyped-def]
    org = new_org(factory)
    other = new_org(factory)
    with factory.begin() as session:
        add_document(session, org, MARKDOWN, filename="benchmarks.md", settings=settings)
        add_document(session, org, HTML, filename="handbook.html", settings=settings)
        add_document(session, org, pdf_bytes, filename="security.pdf", settings=settings)
        # Another tenant's knowledge must never support this org's claims:
        add_document(session, other, b"Acme doubled revenue to $5 million in 2022.", filename="x.md",
                     settings=settings)
    doc = draft(
        "Median monthly churn was 3.5% for SaaS companies under $1M in annual revenue.",
        "Annual plans cut churn by 40% compared with monthly plans.",
        "Our support team answers 92% of tickets within 4 hours.",
        "The platform kept 99.95% uptime over the last twelve months.",
        "Acme doubled revenue to $5 million in 2022.",
        "Annual plans cut churn by 60% compared with monthly plans.",
        "Forrester ranked Acme the leading CRM for agencies.",
        "Write down what you learn each week and share it with the team.",
    )
    with factory() as session:
        result = check_facts(doc, org_context(session, org, settings=settings))  # type: ignore[arg-type]
    by_text = {d["statement"]: d for d in result.details}
    assert len(by_text) == 7  # the last sentence states no number or named claim
    supported = [s for s, d in by_text.items() if d["supported"]]
    assert supported == [
        "Median monthly churn was 3.5% for SaaS companies under $1M in annual revenue.",
        "Annual plans cut churn by 40% compared with monthly plans.",
        "Our support team answers 92% of tickets within 4 hours.",
        "The platform kept 99.95% uptime over the last twelve months.",
    ]
    assert by_text[supported[1]]["passage"]["document"] == "Churn benchmarks 2024"
    assert by_text[supported[3]]["passage"]["document"] == "Security overview"
    assert by_text[supported[0]]["score"] > 0 and by_text[supported[0]]["coverage"] >= 0.6
    assert "no passage states 60%" in by_text["Annual plans cut churn by 60% compared with monthly plans."]["reason"]
    assert "no passage states 5e+06, 2022" in by_text["Acme doubled revenue to $5 million in 2022."]["reason"]
    assert not by_text["Forrester ranked Acme the leading CRM for agencies."]["supported"]
    assert not result.passed and result.value == 3 and result.threshold == 0
    assert result.message.startswith("3 of 7 statements have no supporting passage")

    with factory.begin() as session:
        for kdoc in list_documents(session, org):
            assert delete_document(session, org, kdoc.id)
        assert not delete_document(session, org, "kdoc_missing")
    with factory() as session:
        empty = check_facts(doc, org_context(session, org, settings=settings))  # type: ignore[arg-type]
    assert empty.passed and empty.value == 7 and "No knowledge base uploaded" in empty.message


def test_statement_extraction_ignores_small_counts_questions_and_the_topic() -> None:
    doc = draft("Follow these 5 steps in order.", "Can you cut churn by 20%?",
                "Book a 20-minute call with us.", "Churn fell 12% after the change.",
                "According to Gartner, most buyers research alone.")
    found = [s.text for s in statements(doc)]  # type: ignore[arg-type]
    assert found == ["Churn fell 12% after the change.", "According to Gartner, most buyers research alone."]
