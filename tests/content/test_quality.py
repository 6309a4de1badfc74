"""Quality checks on hand-built documents: uniqueness, readability, structure, links, alt, voice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from content.document import Document, MagnetType, parse_document
from content.quality import blocked_reason, org_context, run_checks
from content.quality.links import check_alt_texts, check_links
from content.quality.readability import check_readability, reading_level
from content.quality.structure import check_structure
from content.quality.uniqueness import check_uniqueness, jaccard, shingles
from content.quality.voice import check_voice
from kernel.metadata import AIGeneration, GenerationStatus, LeadMagnet
from kernel.settings import Settings
from tests.content.metadata_db import migrated_sqlite, new_org
from tests.helpers import make_settings

BASE = (
    "Onboarding decides whether a trial becomes a customer. Map the first week of every new "
    "account and write down the moment each one first gets value from the product. Send a short "
    "note on day two that points to the one feature most teams use first. Ask the sales lead to "
    "call every account that has not invited a colleague by day five. Review the list each Monday "
    "with the support team and agree who follows up with which account before lunch. Keep a "
    "simple sheet of every account that cancelled and the reason they gave in their own words. "
    "Read it once a month with the whole team and pick one fix to ship before the next review."
)
OTHER = (
    "Pricing pages answer three questions: what it costs, what is included and what happens "
    "next. Put the most popular plan in the middle and name it for the buyer who picks it. List "
    "no more than six features per plan and write each as an outcome. Show the yearly price "
    "beside the monthly one so buyers can compare. Answer the four most common billing questions "
    "right under the plans. Test one change at a time and keep each test running for two full "
    "weeks so that weekday and weekend buyers both count in the result."
)


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    engine, factory = migrated_sqlite(tmp_path_factory.mktemp("quality"))
    yield factory
    engine.dispose()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("data"))


def ebook(body: str = BASE, title: str = "Onboarding that keeps customers", **extra: Any) -> Document:
    paras = [p.strip() + "." for p in body.split(". ") if p.strip()]
    third = max(1, len(paras) // 3)
    chapters = [paras[:third], paras[third: 2 * third], paras[2 * third:]]
    raw: dict[str, Any] = {
        "type": "ebook", "title": title, "summary": "A short guide for small software teams.",
        "audience": "busy parents",
        "sections": [
            {"title": f"Chapter {i}", "blocks": [{"type": "paragraph", "text": " ".join(c)}]}
            for i, c in enumerate(chapters, 1)
        ],
        "cta": {"type": "cta", "heading": "Talk to us", "url": "https://acme.example.com/demo"},
    }
    raw.update(extra)
    return parse_document(raw)


def near_copy(text: str, changes: int) -> str:
    """``text`` with every ``changes``-th word replaced: a hand-made near-duplicate."""
    words = text.split()
    return " ".join("different" if i % changes == 0 else w for i, w in enumerate(words))


def add_magnet(factory: sessionmaker[Session], org_id: str, doc: Document, slug: str) -> str:
    with factory.begin() as session:
        magnet = LeadMagnet(org_id=org_id, name=doc.title, slug=slug, type=MagnetType(doc.type),
                            content=doc.model_dump(mode="json"))
        session.add(magnet)
        session.flush()
        return magnet.id


def test_near_duplicate_of_another_magnet_fails_and_a_distinct_one_passes(
        factory: sessionmaker[Session], settings: Settings) -> None:
    org = new_org(factory)
    other_org = new_org(factory)
    existing = add_magnet(factory, org, ebook(BASE), "onboarding")
    add_magnet(factory, other_org, ebook(OTHER), "pricing")  # another tenant: never compared
    mine = add_magnet(factory, org, ebook(near_copy(BASE, 20)), "onboarding-2")

    with factory() as session:
        ctx = org_context(session, org, magnet_id=mine, settings=settings)
        close = check_uniqueness(ebook(near_copy(BASE, 20)), ctx)
        far = check_uniqueness(ebook(near_copy(BASE, 4)), ctx)
        distinct = check_uniqueness(ebook(OTHER, title="Pricing pages that sell"), ctx)

    expected = jaccard(shingles(ebook(near_copy(BASE, 20)).plain_text()), shingles(ebook(BASE).plain_text()))
    assert not close.passed and close.threshold == 0.6
    assert close.value is not None and close.value > 0.6
    assert close.details[0]["id"] == existing and close.details[0]["kind"] == "magnet"
    assert abs(close.value - expected) < 0.1  # exact Jaccard of the shingles, not a guess
    assert far.passed and far.value is not None and far.value < 0.6  # every 4th word changed
    assert distinct.passed and distinct.value is not None and distinct.value < 0.1
    assert "limit 60%" in distinct.message


def test_an_edited_magnet_is_compared_by_its_new_content(factory: sessionmaker[Session], settings: Settings) -> None:
    org = new_org(factory)
    other = add_magnet(factory, org, ebook(OTHER, title="Pricing"), "pricing")
    with factory() as session:
        ctx = org_context(session, org, settings=settings)
        assert check_uniqueness(ebook(BASE), ctx).passed  # signatures cached now
    with factory.begin() as session:
        magnet = session.get_one(LeadMagnet, other)
        magnet.content = ebook(BASE).model_dump(mode="json")
    with factory() as session:
        result = check_uniqueness(ebook(BASE), org_context(session, org, settings=settings))
    assert not result.passed and result.details[0]["id"] == other


def test_uniqueness_compares_with_ai_generations_of_other_magnets_only(
        factory: sessionmaker[Session], settings: Settings) -> None:
    org = new_org(factory)
    first = add_magnet(factory, org, ebook(OTHER, title="Pricing"), "pricing")
    mine = add_magnet(factory, org, ebook(OTHER, title="Pricing two"), "pricing-2")
    answer = json.dumps(ebook(BASE).model_dump(mode="json"))
    with factory.begin() as session:
        session.add_all([
            AIGeneration(org_id=org, magnet_id=first, step="generate", model="m", prompt="p",
                         response=answer, status=GenerationStatus.SUCCEEDED),
            AIGeneration(org_id=org, magnet_id=mine, step="generate", model="m", prompt="p",
                         response=json.dumps(ebook(OTHER).model_dump(mode="json")),
                         status=GenerationStatus.SUCCEEDED),
        ])
    with factory() as session:
        # Against the draft made for the first magnet (its content has since changed):
        stricter = Settings.model_validate({**settings.model_dump(), "quality_max_similarity": 0.95})
        result = check_uniqueness(ebook(near_copy(BASE, 20)), org_context(session, org, magnet_id=mine, settings=settings))
        assert not result.passed
        assert result.details[0]["kind"] == "generation" and result.value > 0.6  # type: ignore[operator]
        # The magnet's own AI draft and other magnets with the same text as the first:
        own = check_uniqueness(ebook(OTHER, title="Pricing two"),
                               org_context(session, org, magnet_id=mine, settings=stricter))
        assert not own.passed and own.details[0]["id"] == first  # the other magnet, not its own draft
        assert all(d["id"] != mine for d in own.details)


def test_readability_numbers_per_audience(factory: sessionmaker[Session], settings: Settings) -> None:
    simple = ebook(BASE)
    hard_text = (
        "Organizational implementation of comprehensive retention methodologies necessitates "
        "systematic operationalization of multidimensional behavioral instrumentation, "
        "longitudinal cohort segmentation and interdepartmental accountability frameworks. "
    ) * 6
    hard = ebook(hard_text)
    with factory() as session:
        ctx = org_context(session, new_org(factory), settings=settings)
        easy_result = check_readability(simple, ctx)
        hard_general = check_readability(hard, ctx)
        pro = org_context(session, ctx.org_id, settings=settings, reading_level="professional")
        hard_pro = check_readability(hard, pro)
    assert easy_result.passed and easy_result.threshold == 9.0
    assert easy_result.value is not None and easy_result.value < 9
    assert not hard_general.passed and hard_general.value is not None and hard_general.value > 14
    assert hard_general.details[0]["level"] == "general"
    assert hard_general.details[1]["sentence"].startswith("Organizational")
    assert hard_pro.threshold == 12.0 and not hard_pro.passed
    assert reading_level(ebook(audience="CFOs of mid-size companies")) == "professional"
    assert reading_level(ebook(audience="parents of toddlers")) == "general"
    assert reading_level(ebook(audience="clinical researchers")) == "expert"


def test_required_sections_per_type() -> None:
    good = ebook()
    assert check_structure(good).passed and check_structure(good).value == 0
    thin = parse_document({"type": "ebook", "title": "Thin", "sections": [
        {"title": "Only", "blocks": [{"type": "list", "items": ["a", "b"]}]}]})
    result = check_structure(thin)
    assert not result.passed and result.value == 4
    assert [d["requirement"] for d in result.details] == [
        "introduction", "at least 3 chapters", "prose in every chapter", "call to action"]
    checklist = parse_document({"type": "checklist", "title": "Launch", "summary": "Before launch.",
                                "sections": [{"title": "Do", "blocks": [{"type": "checklist", "items": [
                                    {"text": "one"}, {"text": "two"}]}]}],
                                "cta": {"type": "cta", "heading": "Next"}})
    missing = check_structure(checklist)
    assert missing.value == 1 and "at least 5 checklist items" in missing.message


def test_links_are_checked_for_form_anchors_and_allowlist_without_fetching(
        factory: sessionmaker[Session], settings: Settings) -> None:
    blocks = [
        {"type": "paragraph", "text": "Read more at https://docs.acme.example.com/guide and "
                                      "http://169.254.169.254/latest or https://user:pw@acme.example.com/x."},
        {"type": "cta", "heading": "Jump", "url": "#ch-2"},
        {"type": "cta", "heading": "Nowhere", "url": "#no-such-part"},
        {"type": "cta", "heading": "Mail", "url": "mailto:hello@acme.example.com"},
        {"type": "cta", "heading": "Bad mail", "url": "mailto:nobody"},
        {"type": "image", "src": "https://cdn.example.com/chart.png", "alt": "Churn by month"},
        {"type": "image", "src": "data:image/png;base64,iVBORw0KGgo=", "alt": "Team photo at launch"},
    ]
    doc = ebook(sections=[{"title": "Links", "blocks": blocks}, {"title": "Second", "blocks": [
        {"type": "paragraph", "text": "See https://evil.example.org/ too."}]}])
    with factory() as session:
        ctx = org_context(session, new_org(factory), settings=settings)
        result = check_links(doc, ctx)
        allow = Settings.model_validate({**settings.model_dump(), "quality_link_allowlist": "acme.example.com"})
        strict = check_links(doc, org_context(session, ctx.org_id, settings=allow))
    problems = {d["url"]: d["problem"] for d in result.details}
    assert not result.passed and result.value == 5, problems
    assert "raw IP" in problems["http://169.254.169.254/latest"]
    assert "password" in problems["https://user:pw@acme.example.com/x"]
    assert "anchor" in problems["#no-such-part"]
    assert "email" in problems["mailto:nobody"]
    assert "never fetches it" in problems["https://cdn.example.com/chart.png"]
    assert "#ch-2" not in problems and "https://docs.acme.example.com/guide" not in problems
    strict_problems = {d["url"]: d["problem"] for d in strict.details}
    assert strict.value == 6 and "allow-list" in strict_problems["https://evil.example.org/"]


def test_missing_and_useless_alt_texts_are_counted() -> None:
    doc = ebook(sections=[{"title": "Pictures", "blocks": [
        {"type": "paragraph", "text": "Three pictures."},
        {"type": "image", "src": "team.png", "alt": ""},
        {"type": "image", "src": "chart.png", "alt": "chart.png"},
        {"type": "image", "src": "data:image/png;base64,AAAA", "alt": "image"},
        {"type": "image", "src": "office.png", "alt": "Our office in Lisbon at sunrise"},
    ]}])
    result = check_alt_texts(doc)
    assert not result.passed and result.value == 3
    assert [d["problem"] for d in result.details][0] == "no alt text"
    assert check_alt_texts(ebook()).passed


def test_brand_voice_words_to_avoid(factory: sessionmaker[Session], settings: Settings) -> None:
    doc = ebook(BASE + " We leverage synergy. Leveraging it is a game changer for every team.")
    with factory() as session:
        org = new_org(factory, settings={"brand": {"voice": {"tone": "plain", "avoid": ["leverage", "game changer"],
                                                             "use": ["customers"]}}})
        ctx = org_context(session, org, settings=settings)  # voice read from the organization
        result = check_voice(doc, ctx)
        clean = check_voice(ebook(), ctx)
    assert not result.passed and result.value == 3
    words = {d["word"]: d["count"] for d in result.details if "word" in d}
    assert words == {"leverage": 2, "game changer": 1}
    assert "customers" in result.message
    assert clean.passed and clean.value == 0


def test_run_checks_gives_every_number_and_a_blocking_reason(
        factory: sessionmaker[Session], settings: Settings) -> None:
    with factory() as session:
        ctx = org_context(session, new_org(factory), settings=settings, voice={"avoid": ["acme"]})
        results = run_checks(ebook(), ctx)
        assert [r.name for r in results] == ["structure", "readability", "uniqueness", "facts",
                                             "voice", "links", "alt_text"]
        assert all(r.passed for r in results), [r.message for r in results if not r.passed]
        assert blocked_reason(results) is None
        bad = run_checks(ebook(BASE + " Acme is the answer."), ctx)
    reason = blocked_reason(bad)
    assert reason is not None and reason.startswith("Quality checks failed: voice 1 (limit 0)")
    assert all(isinstance(r.to_dict()["details"], list) for r in bad)
    with pytest.raises(ValueError, match="unknown quality checks"):
        run_checks(ebook(), ctx, only=["spelling"])


def test_check_magnet_reads_a_stored_magnet_of_this_org_only(
        factory: sessionmaker[Session], settings: Settings) -> None:
    from content.quality import check_magnet

    org = new_org(factory)
    magnet = add_magnet(factory, org, ebook(), "stored")
    with factory() as session:
        results = check_magnet(session, org, magnet, settings=settings)
        assert [r.name for r in results][0] == "structure" and all(r.passed for r in results)
        with pytest.raises(LookupError, match="not found"):
            check_magnet(session, new_org(factory), magnet, settings=settings)


def test_offline_documents_of_every_type_pass_structure() -> None:
    from content.document import Brief
    from content.offline import generate

    for kind in MagnetType:
        doc = generate(Brief(type=kind, topic="cutting churn in the first 90 days"))
        result = check_structure(doc)
        assert result.passed, (kind, result.message)


def test_every_anchor_the_link_check_accepts_exists_in_the_rendered_html() -> None:
    from content.brand import BrandKit
    from content.document import Brief
    from content.library import default_template
    from content.offline import generate
    from content.quality.links import anchors
    from content.render.html import render_html

    for kind in MagnetType:
        if kind == MagnetType.INFOGRAPHIC:
            continue  # an SVG: no in-page links
        doc = generate(Brief(type=kind, topic="cutting churn in the first 90 days"))
        html = render_html(doc, default_template(kind, doc.industry), BrandKit())
        ids = anchors(doc)
        assert ids, kind
        missing = [a for a in ids if f'id="{a}"' not in html]
        assert not missing, (kind, missing)


def test_voice_comes_from_a_brand_kit() -> None:
    from content.brand import BrandKit
    from content.quality import Voice

    kit = BrandKit.model_validate({"voice": {"tone": "warm", "use": ["customers"], "avoid": ["synergy"]}})
    for value in (kit, kit.voice, kit.model_dump(mode="json"), {"words_to_avoid": ["synergy"]}):
        voice = Voice.from_any(value)
        assert voice is not None and voice.avoid == ("synergy",)
    assert Voice.from_any(None) is None


def test_every_check_is_documented_with_its_threshold() -> None:
    from content.quality import CHECKS
    from tests.helpers import ROOT

    doc = (ROOT / "docs" / "ai-and-quality.md").read_text()
    missing = [name for name in CHECKS if f"| `{name}` |" not in doc]
    assert not missing, f"document these checks in docs/ai-and-quality.md: {missing}"
