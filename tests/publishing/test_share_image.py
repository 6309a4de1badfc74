"""The share image: og:image / twitter:image name a 1200x630 PNG made from the brand
colours and headline, then from the build's cover once there is one (a new URL), cached
as a file per build."""

from __future__ import annotations

import io
import re

from PIL import Image

from content.artifacts import ArtifactStore
from kernel.metadata.models import LeadMagnet
from tests.publishing.conftest import Env, seed
from tests.publishing.test_delivery import _build

RED = (200, 30, 40)


def _image_url(page: str) -> str:
    og = re.search(r'<meta property="og:image" content="([^"]+)"', page)
    tw = re.search(r'<meta name="twitter:image" content="([^"]+)"', page)
    assert og and tw and og.group(1) == tw.group(1)
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    return og.group(1).replace("&amp;", "&")


def test_share_image_from_headline_then_from_the_build_cover(env: Env) -> None:
    m = seed(env.sessions, "share")
    page = env.client.get(m.path).text
    url = _image_url(page)
    assert url.startswith(f"http://testserver{m.path}/og.png?v=")
    r = env.client.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == "public, max-age=86400"
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (1200, 630)
    assert img.convert("RGB").getpixel((20, 20)) == (0x1d, 0x4e, 0xd8)  # the default primary
    cached = list((env.settings.data_path / "og").glob(f"{m.id}-*.png"))
    assert len(cached) == 1 and cached[0].read_bytes() == r.content
    assert env.client.get(url).content == r.content  # from the file

    cover = io.BytesIO()
    Image.new("RGB", (600, 800), RED).save(cover, "PNG")
    store = ArtifactStore.from_settings(env.settings)
    with env.sessions() as s:
        magnet = s.get(LeadMagnet, m.id)
        assert magnet is not None
        _build(s, magnet, store, {"cover.png": ("image/png", cover.getvalue())})
        s.commit()
    new_url = _image_url(env.client.get(m.path).text)
    assert new_url != url  # a new build: a new version in the URL
    built = Image.open(io.BytesIO(env.client.get(new_url).content)).convert("RGB")
    assert built.size == (1200, 630)
    assert built.getpixel((1000, 315)) == RED  # the cover, on the right
    assert built.getpixel((20, 20)) == (0x1d, 0x4e, 0xd8)
    assert len(list((env.settings.data_path / "og").glob(f"{m.id}-*.png"))) == 2

    assert env.client.get(f"/m/{m.org_slug}/nothing-here/og.png").status_code == 404
