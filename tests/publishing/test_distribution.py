"""The management API: landing URL and opt-in mode, QR codes, social posts, suppressions."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import segno
import sqlalchemy as sa
from PIL import Image

from kernel.metadata.models import ApiKey, LeadMagnet
from kernel.metadata.tokens import generate_api_key
from kernel.permissions import ALL_PERMISSIONS
from publishing.qr import qr_code
from publishing.social import LIMITS, X_LINK_LENGTH, social_posts
from tests.publishing.conftest import Env, Magnet, seed
from tests.publishing.pages import form_token, post, visit


def _key(env: Env, org_id: str) -> dict[str, str]:
    new = generate_api_key()
    with env.sessions() as s:
        s.add(ApiKey(org_id=org_id, name="all", prefix=new.prefix, secret_hash=new.secret_hash,
                     scopes=list(ALL_PERMISSIONS)))
        s.commit()
    return {"Authorization": f"Bearer {new.token}"}


def _magnet(env: Env, m: Magnet) -> LeadMagnet:
    with env.sessions() as s:
        return s.get_one(LeadMagnet, m.id)


def test_publishing_status_and_single_opt_in_switch(env: Env) -> None:
    m = seed(env.sessions, "status", experiment=False)
    auth = _key(env, m.org_id)
    c = env.client
    r = c.get(f"/v1/magnets/{m.id}/publishing", headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["landing_url"] == f"http://testserver{m.path}" and body["live"] is True
    assert body["double_opt_in"] is True and body["leads"] == {"pending": 0, "confirmed": 0}
    c.cookies.clear()
    page, _, _ = visit(c, m.path)
    post(c, m.path, form_token(page), email="p@example.com", json=True)
    assert c.get(f"/v1/magnets/{m.id}/publishing", headers=auth).json()["leads"] == {
        "pending": 1, "confirmed": 0}
    r = c.patch(f"/v1/magnets/{m.id}/publishing", json={"double_opt_in": False}, headers=auth)
    assert r.status_code == 200 and r.json()["double_opt_in"] is False
    page, _, _ = visit(c, m.path)
    assert post(c, m.path, form_token(page), email="q@example.com",
                json=True).json()["status"] == "confirmed"
    other = seed(env.sessions, "status-other", experiment=False)
    assert c.get(f"/v1/magnets/{other.id}/publishing", headers=auth).status_code == 404


def test_qr_codes_encode_the_tagged_landing_url(env: Env) -> None:
    m = seed(env.sessions, "qr", experiment=False)
    auth = _key(env, m.org_id)
    r = env.client.get(f"/v1/magnets/{m.id}/qr?medium=poster&campaign=spring",
                       headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    url = r.headers["x-qr-url"]
    assert url.startswith(f"http://testserver{m.path}?")
    assert parse_qs(urlsplit(url).query) == {"utm_source": ["qr"], "utm_medium": ["poster"],
                                             "utm_campaign": ["spring"]}
    assert r.text.lstrip().startswith("<svg")
    png = env.client.get(f"/v1/magnets/{m.id}/qr?format=png&scale=4", headers=auth)
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png.content))
    assert image.size[0] == image.size[1] >= 21 * 4
    bad = env.client.get(f"/v1/magnets/{m.id}/qr?medium=Bad%20Medium!", headers=auth)
    assert bad.status_code == 422 and "medium" in bad.json()["error"]["message"]
    # the same URL re-encoded by segno at level M gives the same symbol
    body, _, encoded = qr_code(f"http://testserver{m.path}", medium="poster", campaign="spring")
    assert encoded == url and segno.make(url, error="m", boost_error=False).error == "M"
    assert body == r.content


def test_social_posts_fit_their_networks(env: Env) -> None:
    m = seed(env.sessions, "social", experiment=False, content={
        "title": "The 27-point SEO checklist " + "really " * 60,
        "subtitle": "Everything to check " * 30,
        "benefits": ["Fix the five things that matter"] * 3})
    auth = _key(env, m.org_id)
    r = env.client.get(f"/v1/magnets/{m.id}/social-posts?campaign=launch", headers=auth)
    assert r.status_code == 200
    posts = {p["network"]: p for p in r.json()}
    assert set(posts) == set(LIMITS)
    for network, p in posts.items():
        assert p["length"] <= LIMITS[network] == p["limit"]
        assert p["url"] in p["text"]
        q = parse_qs(urlsplit(p["url"]).query)
        assert q == {"utm_source": [network], "utm_medium": ["social"],
                     "utm_campaign": ["launch"]}
    x = posts["x"]
    assert x["length"] == len(x["text"]) - len(x["url"]) + X_LINK_LENGTH and "…" in x["text"]
    assert "✅ Fix the five things that matter" in posts["linkedin"]["text"]
    short = social_posts(_magnet(env, m), "https://go.example/m/a/b")
    assert all(p.url.endswith("utm_campaign=seo-checklist") for p in short)


def test_suppressions_api_and_isolation(env: Env) -> None:
    a = seed(env.sessions, "supa", experiment=False)
    b = seed(env.sessions, "supb", experiment=False)
    auth_a, auth_b = _key(env, a.org_id), _key(env, b.org_id)
    r = env.client.post("/v1/mail/suppressions", json={"email": "Bounce@Example.com",
                                                        "reason": "bounced"}, headers=auth_a)
    assert r.status_code == 201 and r.json() == {"email": "bounce@example.com",
                                                 "reason": "bounced"}
    bad = env.client.post("/v1/mail/suppressions", json={"email": "x@example.com",
                                                          "reason": "because"}, headers=auth_a)
    assert bad.status_code == 422
    listed = env.client.get("/v1/mail/suppressions", headers=auth_a).json()
    assert [s["email"] for s in listed] == ["bounce@example.com"]
    assert env.client.get("/v1/mail/suppressions", headers=auth_b).json() == []
    with env.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ApiKey)) >= 2
