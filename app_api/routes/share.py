"""The landing pages' share image (Open Graph / Twitter card), public like the pages."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app_api.pages import message_page
from app_api.public import PublicDep
from content.artifacts import ArtifactStore
from kernel.errors import NotFoundError
from publishing.landing import MagnetGoneError, published_magnet
from publishing.og_image import og_png

router = APIRouter(include_in_schema=False)


@router.get("/m/{org_slug}/{magnet_slug}/og.png")
def share_image(org_slug: str, magnet_slug: str, pub: PublicDep) -> Response:
    """The 1200x630 PNG that og:image and twitter:image name (cached per build)."""
    try:
        snap = pub.pages.get(org_slug, magnet_slug)
        with pub.org_by_slug(org_slug) as (org, db):
            magnet = published_magnet(db.session, org.id, magnet_slug)
            data = og_png(pub.settings.data_path / "og", db.session, magnet,
                          ArtifactStore.from_settings(pub.settings),
                          snap.content("").headline, org.name)
    except (NotFoundError, MagnetGoneError):
        return message_page(404, "Page not found", "There is no image at this address.")
    # The page names it with ?v=<build and headline>: a new version is a new URL.
    return Response(data, media_type="image/png", headers={
        "Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})
