"""The landing page's words: magnet content overlaid by the variant's; a magnet whose content
is a built document (with its own closing call-to-action block) keeps the opt-in button."""

from __future__ import annotations

from content.document import make_brief
from content.offline import generate
from kernel.metadata.enums import MagnetType
from kernel.metadata.models import LeadMagnet, MagnetVariant
from publishing.landing import page_content


def test_a_documents_cta_block_is_not_the_button_label() -> None:
    doc = generate(make_brief("ebook", "SaaS growth", "saas")).model_dump(mode="json")
    assert isinstance(doc["cta"], dict)
    magnet = LeadMagnet(org_id="org_1", name="Playbook", slug="p", type=MagnetType.EBOOK,
                        content={**doc, "title": "The Playbook"})
    magnet.variants = [MagnetVariant(org_id="org_1", key="B", content={
        "headline": "Double your sign-ups", "benefits": ["One", "Two"]})]
    page = page_content(magnet, "B")
    assert page.cta == "Send me the free copy"
    assert (page.headline, page.benefits) == ("Double your sign-ups", ["One", "Two"])
    magnet.variants[0].content = {"cta": "Get the playbook"}
    assert page_content(magnet, "B").cta == "Get the playbook"
    assert page_content(magnet, "A").headline == "The Playbook"
