"""Custom domains on a real server: a site's domain (set through the API) serves its
magnets' pages at /{magnet slug} by the Host header; unknown hosts and other sites'
magnets get 404; removing the domain stops it at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from kernel.metadata.models import LeadMagnet, Site
from tests.helpers import serve_app
from tests.ingestion.support import CHROME
from tests.publishing.conftest import Env, Inbox, publishing_settings, seed
from tests.publishing.pages import form_token
from tests.publishing.test_distribution import _key


@pytest.fixture(scope="module")
def served(smtp: Inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    settings = publishing_settings(tmp_path_factory.mktemp("domains"), smtp.port)
    with serve_app(settings) as (base, app):
        yield base, app.state.lodestone


def _site_of(sessions: Any, magnet_id: str) -> str:
    with sessions() as s:
        return str(s.scalar(sa.select(LeadMagnet.site_id).where(LeadMagnet.id == magnet_id)))


def test_custom_domain_serves_the_sites_magnets(served: tuple[str, Any]) -> None:
    base, state = served
    m = seed(state.sessions, "domain")
    other = seed(state.sessions, "other")
    env = Env(None, state.settings, None, state.sessions)  # type: ignore[arg-type]
    auth = _key(env, m.org_id)
    site_id = _site_of(state.sessions, m.id)
    with httpx.Client(base_url=base, headers={"User-Agent": CHROME}) as c:
        bad = c.patch(f"/v1/sites/{site_id}", json={"custom_domain": "https://go.example.com/x"},
                      headers=auth)
        assert bad.status_code == 422 and "not a host name" in bad.text
        r = c.patch(f"/v1/sites/{site_id}", json={"custom_domain": "Go.Example.COM"},
                    headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["custom_domain"] == "go.example.com"
        # one host, one site: another organization cannot take it
        taken = c.patch(f"/v1/sites/{_site_of(state.sessions, other.id)}",
                        json={"custom_domain": "go.example.com"},
                        headers=_key(env, other.org_id))
        assert taken.status_code == 409

        page = c.get(f"/{m.slug}", headers={"Host": "go.example.com:443"})
        assert page.status_code == 200, page.text[:300]
        assert "The 27-point SEO checklist" in page.text or "Is your page" in page.text
        assert '<link rel="canonical" href="http://go.example.com/seo-checklist">' in page.text
        assert f'action="/m/{m.org_slug}/{m.slug}"' in page.text  # posts to the same host
        # the form works from the custom domain
        time.sleep(0.05)
        done = c.post(f"/m/{m.org_slug}/{m.slug}", headers={
            "Host": "go.example.com", "Accept": "application/json"},
            data={"token": form_token(page.text), "email": "dom@example.com"})
        assert done.status_code == 200 and done.json()["status"] == "pending"

        assert c.get(f"/{m.slug}", headers={"Host": "unknown.example.org"}).status_code == 404
        assert c.get(f"/{m.slug}").status_code == 404  # the server's own host name
        assert c.get("/no-such-magnet", headers={"Host": "go.example.com"}).status_code == 404
        # a magnet of another site of the same organization is not on this domain
        with state.sessions() as s:
            site = Site(org_id=m.org_id, name="Other site")
            s.add(site)
            s.flush()
            extra = LeadMagnet(org_id=m.org_id, site_id=site.id, name="Extra", slug="extra",
                               type="checklist", status="published", content={"title": "X"})
            s.add(extra)
            s.commit()
        assert c.get("/extra", headers={"Host": "go.example.com"}).status_code == 404
        assert c.get("/healthz", headers={"Host": "go.example.com"}).status_code == 200

        r = c.patch(f"/v1/sites/{site_id}", json={"custom_domain": ""}, headers=auth)
        assert r.status_code == 200 and r.json()["custom_domain"] is None
        assert c.get(f"/{m.slug}", headers={"Host": "go.example.com"}).status_code == 404
