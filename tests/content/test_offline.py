from __future__ import annotations

import time

from content.document import MagnetType
from content.offline import generate_from


def test_same_brief_same_document_and_different_briefs_differ() -> None:
    a = generate_from("ebook", "Pricing for growth", "saas", "founders")
    assert a == generate_from("ebook", "Pricing for growth", "saas", "founders")
    assert a != generate_from("ebook", "Pricing for growth", "saas", "marketers")
    assert a.sections[0].title != generate_from("ebook", "Pricing for growth", "health").sections[0].title


def test_industry_vocabulary_and_structure() -> None:
    shop = generate_from("checklist", "Holiday season prep", "ecommerce").plain_text().lower()
    assert "cart" in shop or "shoppers" in shop
    clinic = generate_from("ebook", "Patient retention", "health", chapters=2).plain_text().lower()
    assert "patients" in clinic and "lorem" not in clinic
    for mtype in MagnetType:
        doc = generate_from(mtype.value, "Winning referrals", "real-estate")
        assert doc.type == mtype and doc.cta is not None
    calc = generate_from("calculator", "ROI", "agency").calculator
    assert calc is not None and any("fee" in o.expression for o in calc.outputs)


def test_a_thirty_page_ebook_document_is_generated_quickly() -> None:
    t0 = time.perf_counter()
    doc = generate_from("ebook", "Scaling customer success", "saas", chapters=12)
    elapsed = time.perf_counter() - t0
    words = len(doc.plain_text().split())
    assert len(doc.sections) == 12 and words > 6000  # ~30 A4 pages with the charts and tables
    assert elapsed < 1.0
