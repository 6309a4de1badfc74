# ruff: noqa: F811  (the API fixtures are imported by name)
"""Brand kit, document versions and the template library through the API."""

from __future__ import annotations

import importlib.util
import io

from fastapi.testclient import TestClient
from PIL import Image

from content.document import make_brief
from content.offline import generate
from jobs.worker import Worker
from tests.app_api.conftest import (  # noqa: F401  (fixtures)
    api_settings,
    client,
    metadata_url,
    shared_url,
    world,
)
from tests.app_api.world import World


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "#123456").save(out, "PNG")
    return out.getvalue()


def test_brand_kit_is_validated_stored_and_used_by_builds(client: TestClient,
                                                          world: World) -> None:
    a, b = world.a, world.b
    assert client.get("/v1/brand-kit", headers=a.auth("viewer")).json()["version"] == 0
    bad = client.put("/v1/brand-kit", json={"colors": {"text": "#aaaaaa"}},
                     headers=a.auth("editor"))
    assert bad.status_code == 422
    err = bad.json()["error"]
    assert "contrast 2.32:1" in err["message"] and "WCAG AA needs 4.5:1" in err["message"]
    assert {"pair": "body text on background", "foreground": "#aaaaaa",
            "background": "#ffffff", "ratio": 2.32, "minimum": 4.5} in err["details"]
    r = client.put("/v1/brand-kit", json={"name": "Acme", "company": "Acme Coaching",
                                          "colors": {"primary": "#7a1f5c"},
                                          "voice": {"avoid": ["synergy"]}},
                   headers=a.auth("editor"))
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["kit"]["colors"]["primary"] == "#7a1f5c"
    assert client.get("/v1/brand-kit", headers=b.auth("owner")).json()["version"] == 0

    png = _png()
    r = client.put("/v1/brand-kit/logo", content=png, headers=a.auth("editor"))
    assert r.status_code == 200 and r.json()["logo_media_type"] == "image/png"
    assert client.get("/v1/brand-kit/logo", headers=a.auth("viewer")).content == png
    assert client.get("/v1/brand-kit/logo", headers=b.auth("owner")).status_code == 404
    r = client.put("/v1/brand-kit/logo", content=b"MZ\x90\x00 not an image",
                   headers=a.auth("editor"))
    assert r.status_code == 422 and "not a PNG, JPEG, GIF, WebP or SVG" in r.text
    r = client.put("/v1/brand-kit/logo", content=b"\x89PNG\r\n\x1a\n" + b"0" * (40 << 20),
                   headers=a.auth("editor"))
    assert r.status_code == 413
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script><rect onload='x()' width='4' height='4'/></svg>"
    assert client.put("/v1/brand-kit/logo", content=svg, headers=a.auth("editor")).status_code == 200
    stored = client.get("/v1/brand-kit/logo", headers=a.auth("viewer"))
    assert stored.headers["content-type"].startswith("image/svg+xml")
    assert b"script" not in stored.content and b"onload" not in stored.content

    mid = a.ids["magnet_id"]
    doc = generate(make_brief("ebook", "coaching packages that sell", "coaching"), 1)
    version = client.get(f"/v1/magnets/{mid}/document", headers=a.auth("viewer")).json()["version"]
    r = client.put(f"/v1/magnets/{mid}/document", json={"document": doc.model_dump(mode="json")},
                   headers={**a.auth("editor"), "If-Match": f'"{version}"'})
    assert r.status_code == 200, r.text
    client.post(f"/v1/magnets/{mid}/builds", json={"formats": ["html"]}, headers=a.auth("editor"))
    state = client.app.state.lodestone  # type: ignore[attr-defined]
    worker = Worker(state.sessions, state.settings)
    while worker.run_once() is not None:
        pass
    built = client.get(f"/v1/magnets/{mid}/builds", headers=a.auth("viewer")).json()["data"][0]
    assert built["status"] == "succeeded", built["job"]["error"]
    html = client.get(built["artifacts"][0]["download_url"], headers=a.auth("viewer")).content
    assert b"#7a1f5c" in html.lower() and b"data:image/svg+xml" in html


def test_document_versions_are_checked(client: TestClient, world: World) -> None:
    a, b = world.a, world.b
    mid = a.ids["magnet_id"]
    got = client.get(f"/v1/magnets/{mid}/document", headers=a.auth("viewer"))
    assert got.status_code == 200 and got.headers["etag"] == f'"{got.json()["version"]}"'
    assert got.json()["document"]["title"] == "T"  # a version-0 document, upgraded on read
    v = got.json()["version"]
    doc = generate(make_brief("ebook", "listing photos that sell homes", "real-estate"), 1)
    body = {"document": doc.model_dump(mode="json")}
    r = client.put(f"/v1/magnets/{mid}/document", json=body, headers=a.auth("editor"))
    assert r.status_code == 428
    r = client.put(f"/v1/magnets/{mid}/document", json=body,
                   headers={**a.auth("editor"), "If-Match": f'"{v}"'})
    assert r.status_code == 200 and r.json()["version"] == v + 1
    stale = client.put(f"/v1/magnets/{mid}/document", json={**body, "version": v},
                       headers=a.auth("editor"))
    assert stale.status_code == 409 and f"it is now version {v + 1}" in stale.json()["error"]["message"]
    broken = dict(body["document"], title="x" * 300)
    r = client.put(f"/v1/magnets/{mid}/document", json={"document": broken, "version": v + 1},
                   headers=a.auth("editor"))
    assert r.status_code == 422
    assert {"path": "title", "message": "String should have at most 200 characters"} in \
        r.json()["error"]["details"]
    wrong_type = dict(body["document"], type="checklist")
    r = client.put(f"/v1/magnets/{mid}/document", json={"document": wrong_type, "version": v + 1},
                   headers=a.auth("editor"))
    assert r.status_code == 422 and "this magnet is a ebook" in r.text
    versions = client.get(f"/v1/magnets/{mid}/document/versions", headers=a.auth("viewer")).json()
    assert [x["version"] for x in versions] == [v + 1]
    assert client.get(f"/v1/magnets/{mid}/document", headers=b.auth("owner")).status_code == 404
    assert client.put(f"/v1/magnets/{mid}/document", json={**body, "version": v + 1},
                      headers=b.auth("owner")).status_code == 404


def test_template_library_lists_and_previews(client: TestClient, world: World) -> None:
    a = world.a
    rows = client.get("/v1/templates", params={"type": "ebook"}, headers=a.auth("viewer")).json()
    assert len(rows) == 6 and {r["industry"] for r in rows} >= {"saas", "health", "real-estate"}
    assert len(client.get("/v1/templates", headers=a.auth("viewer")).json()) >= 30
    r = client.get("/v1/templates", params={"type": "poster"}, headers=a.auth("viewer"))
    assert r.status_code == 422
    r = client.get("/v1/templates/preview", params={"name": "no-such"}, headers=a.auth("viewer"))
    assert r.status_code == 404 and "unknown template" in r.text
    url = next(x["preview_url"] for x in rows if x["name"] == "saas-ebook")
    r = client.get(url, headers=a.auth("viewer"))
    if importlib.util.find_spec("content.previews") is None:
        assert r.status_code == 503 and "make previews" in r.text
    else:
        assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
