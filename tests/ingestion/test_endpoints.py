"""Snippet, config, metrics, health and the pixel's refusals, over real HTTP."""

from __future__ import annotations

import gzip
import uuid

import httpx
import pytest
import sqlalchemy as sa

from experiments.assignment import assign
from ingestion import snippet
from kernel.metadata.enums import ExperimentStatus
from kernel.metadata.models import ApiKey, Experiment
from kernel.metadata.tokens import generate_api_key
from tests.helpers import wait_for
from tests.ingestion.support import Env


def test_snippet_versions_etag_and_caching(env: Env) -> None:
    current = snippet.published()[snippet.VERSION]
    r = env.http.get("/s.js")
    assert r.status_code == 200 and r.content == current
    assert r.headers["content-type"].startswith("application/javascript")
    assert r.headers["cache-control"] == "public, max-age=86400" and r.headers["etag"]
    assert r.headers["access-control-allow-origin"] == "*"
    again = env.http.get("/s.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    pinned = env.http.get(f"/s/v{snippet.VERSION}.js")
    assert pinned.content == current and "immutable" in pinned.headers["cache-control"]
    raw = env.http.get("/s.js", headers={"Accept-Encoding": "gzip"}, extensions={})
    assert raw.headers.get("content-encoding") == "gzip" and raw.content == current  # httpx inflates
    assert len(gzip.compress(current)) <= 2048
    assert env.http.get("/s/v999.js").status_code == 404
    assert env.http.get("/s/latest.js").json()["error"]["code"] == "not_found"


def test_config_serves_running_and_promoted_experiments(env: Env) -> None:
    r = env.http.get("/c.json", params={"site": env.org.site_key})
    assert r.status_code == 200 and r.headers["cache-control"].startswith("private")
    cfg = r.json()
    assert cfg["m"] == "cookieless" and cfg["v"].startswith("c")
    exp = next(x for x in cfg["x"] if x["k"] == "demo-ebook-headline")
    assert exp["v"] == ["A", "B"] and exp["w"] == [0.5, 0.5] and exp["c"] == 1.0
    assert exp["g"] == env.org.magnets[0].magnet_id or exp["g"] in {m.magnet_id for m in env.org.magnets}
    # the unit id the snippet assigns with is the visitor id the collector stores
    marker = uuid.uuid4().hex
    env.http.post("/e", json={"site": env.org.site_key, "events": [{"event": "pageview", "magnet_id": marker}]})
    row = wait_for(lambda: env.events(f"magnet_id = '{marker}'"), timeout=10)[0]
    assert row["visitor_id"] == cfg["v"]
    assert assign(exp["k"], cfg["v"], exp["v"], exp["w"], exp["c"]) in ("A", "B")
    # promote a winner: the config serves it to everyone, without exposures
    key = f"promo-{uuid.uuid4().hex[:8]}"
    with env.sessions() as s:
        s.add(Experiment(org_id=env.other.org_id, key=key, name="p", status=ExperimentStatus.PROMOTED,
                         winner="B", variants=[{"key": "A", "weight": 1}, {"key": "B", "weight": 1}]))
        s.commit()

    def promoted() -> dict[str, object] | None:
        x = env.http.get("/c.json", params={"site": env.other.site_key}).json()["x"]
        return next((e for e in x if e["k"] == key), None)

    got = wait_for(promoted, timeout=20, interval=0.5)  # the registry refreshes every 10 s
    assert got == {"k": key, "g": "", "v": ["B"], "w": [1], "c": 1, "p": 1}
    with env.sessions() as s:
        s.execute(sa.update(Experiment).where(Experiment.key == key).values(status=ExperimentStatus.STOPPED))
        s.commit()


def test_config_refusals(env: Env) -> None:
    assert env.http.get("/c.json", params={"site": "pub_nope"}).status_code == 401
    r = env.http.get("/c.json", params={"site": env.org.site_key}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    ok = env.http.get("/c.json", params={"site": env.org.site_key}, headers={"Origin": "http://localhost:8000"})
    assert ok.headers["access-control-allow-origin"] == "http://localhost:8000"
    assert env.http.get("/c.json", params={"site": env.org.site_key}, headers={"DNT": "1"}).json()["v"] == ""


def test_pixel_refusals_are_gifs_with_a_reason(env: Env) -> None:
    site = env.org.site_key
    r = env.http.get("/p.gif", params={"site": site, "event": "nope"})
    assert r.status_code == 400 and "unknown event type" in r.headers["x-lodestone-error"]
    assert r.content.startswith(b"GIF89a")
    r = env.http.get("/p.gif", params={"site": site, "magnet_id": "m" * 65})
    assert r.status_code == 400 and "magnet_id is 65 characters; the limit is 64" in r.headers["x-lodestone-error"]
    r = env.http.get("/p.gif", params={"site": site, "value": "abc"})
    assert r.status_code == 400 and "invalid query parameter" in r.headers["x-lodestone-error"]
    marker = uuid.uuid4().hex
    r = env.http.get("/p.gif", params={"site": site, "magnet_id": marker}, headers={"User-Agent": "curl/8.0"})
    assert r.status_code == 200  # crawlers get their image, the event is dropped
    r = env.http.get("/p.gif", params={"site": site, "event": "confirmed", "magnet_id": marker,
                                       "event_id": str(uuid.uuid4()), "utm_source": "newsletter"},
                     headers={"Referer": "https://mail.google.com/"})
    assert r.status_code == 200
    rows = wait_for(lambda: env.events(f"magnet_id = '{marker}'"), timeout=10)
    assert len(rows) == 1 and rows[0]["event"] == "confirmed" and rows[0]["channel"] == "email"
    assert rows[0]["url"] == "https://mail.google.com/"  # no url: the Referer header


def test_server_side_scope_and_preflight(env: Env) -> None:
    r = env.http.post("/v1/events", json={"events": [{"event": "purchase"}]},
                      headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    pre = env.http.options("/e", headers={"Origin": "http://127.0.0.1:8000"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-methods"] == "POST"


@pytest.mark.parametrize("scopes", [["magnets:read"], []])
def test_server_side_events_need_the_events_write_scope(env: Env, scopes: list[str]) -> None:
    """Only a key that lists events:write may send events (an empty list grants nothing)."""
    new = generate_api_key("live")
    with env.sessions() as s, s.begin():
        s.add(ApiKey(org_id=env.org.org_id, name=f"scoped {scopes}", prefix=new.prefix,
                     secret_hash=new.secret_hash, scopes=scopes))

    def answer() -> httpx.Response | None:  # the collector learns new keys within seconds
        r = env.http.post("/v1/events", json={"events": [{"event": "purchase"}]},
                          headers={"Authorization": f"Bearer {new.token}"})
        return None if r.status_code == 401 else r

    r = wait_for(answer, timeout=15)
    assert r.status_code == 403 and "events:write" in r.json()["error"]["message"]


def test_health_and_metrics(env: Env) -> None:
    env.http.get("/p.gif", params={"site": env.org.site_key})
    h = env.http.get("/healthz").json()
    assert h["status"] == "ok" and h["shipping"] == "ok" and "spool_bytes" in h
    text = wait_for(lambda: (t := env.http.get("/metrics").text) and
                    'lodestone_events_accepted_total{endpoint="pixel"}' in t and t, timeout=10)
    for name in ("lodestone_events_rejected_total", "lodestone_spool_segments", "lodestone_spool_bytes",
                 "lodestone_shipping_lag_seconds", "lodestone_batch_events_bucket",
                 'lodestone_request_seconds_bucket{endpoint="pixel"', "lodestone_events_shipped_total"):
        assert name in text, name
