"""The collector over real HTTP on 127.0.0.1: every endpoint and every bad-input class."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from kernel.schema import FLAG_TS_CLAMPED
from tests.helpers import wait_for
from tests.ingestion.support import CHROME, Env


def _batch(env: Env, events: list[dict[str, Any]], **headers: str) -> httpx.Response:
    return env.http.post("/e", json={"site": env.org.site_key, "events": events}, headers=headers)


def test_pixel_returns_a_gif_and_records_the_event(env: Env) -> None:
    marker = uuid.uuid4().hex
    env.events("0")  # warm the test's own chDB session
    t0 = time.monotonic()
    r = env.http.get("/p.gif", params={"site": env.org.site_key, "event": "magnet_view",
                                       "magnet_id": marker, "url": "https://x.example/a"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/gif"
    assert "no-store" in r.headers["cache-control"]
    assert r.content.startswith(b"GIF89a") and len(r.content) < 100
    rows = wait_for(lambda: env.events(f"magnet_id = '{marker}'"), timeout=5)
    assert time.monotonic() - t0 < 2.0, "an acknowledged event must be queryable within 2 s"
    assert rows[0]["org_id"] == env.org.org_id and rows[0]["browser"] == "Chrome"
    assert rows[0]["device"] == "desktop" and rows[0]["visitor_id"].startswith("c")


def test_pixel_head_requests_answer_without_recording(env: Env) -> None:
    probe, real = uuid.uuid4().hex, uuid.uuid4().hex
    r = env.http.head("/p.gif", params={"site": env.org.site_key, "magnet_id": probe})
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    r = env.http.get("/p.gif", params={"site": env.org.site_key, "magnet_id": real})
    assert r.status_code == 200
    assert wait_for(lambda: env.events(f"magnet_id = '{real}'"), timeout=5)
    time.sleep(0.5)  # one more ship interval
    assert env.events(f"magnet_id = '{probe}'") == []


def test_pixel_unknown_site_is_refused(env: Env) -> None:
    r = env.http.get("/p.gif", params={"site": "pub_nope"})
    assert r.status_code == 403 and r.headers["x-lodestone-error"] == "unknown site key"


def test_batch_answers_per_event(env: Env) -> None:
    marker = uuid.uuid4().hex
    r = _batch(env, [
        {"event": "pageview", "magnet_id": marker},
        {"event": "not-a-type", "magnet_id": marker},
        {"event": "lead", "magnet_id": marker, "value": "NaN"},
        {"event": "lead", "magnet_id": marker, "url": "x" * 5000},
        {"event": "lead", "magnet_id": marker, "event_id": "nope"},
        {"event": "lead", "magnet_id": marker, "utm_source": "newsletter", "utm_medium": "email"},
    ])
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 2
    reasons = {x["index"]: x["reason"] for x in body["rejected"]}
    assert set(reasons) == {1, 2, 3, 4}
    assert "unknown event type" in reasons[1]
    assert "url is 5000 characters; the limit is 2048" in reasons[3]
    assert "not a UUID" in reasons[4]
    rows = wait_for(lambda: len(env.events(f"magnet_id = '{marker}'")) == 2 and env.events(f"magnet_id = '{marker}'"))
    assert sorted(r["channel"] for r in rows) == ["direct", "email"]


def test_whole_request_errors_have_reasons(env: Env) -> None:
    r = env.http.post("/e", content=b'{"site": "x", "events": [', headers={"content-type": "text/plain"})
    assert r.status_code == 400 and "malformed JSON" in r.json()["error"]["message"]
    r = env.http.post("/e", content=b'{"events": ["\xff"]}')
    assert r.status_code == 400 and "UTF-8" in r.json()["error"]["message"]
    r = env.http.post("/e", json={"site": env.org.site_key, "events": [{"event": "pageview"}] * 501})
    assert r.status_code == 413 and "limit is 500" in r.json()["error"]["message"]
    r = env.http.post("/e", content=b"x" * (1024 * 1024 + 1))
    assert r.status_code == 413
    r = env.http.post("/e", json={"site": "pub_unknown", "events": []})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unknown_site"
    r = env.http.post("/e", json={"events": {"a": 1}})
    assert r.status_code == 400 and "expected" in r.json()["error"]["message"]


def test_cors_is_limited_to_allowed_origins(env: Env) -> None:
    r = _batch(env, [{"event": "pageview"}], origin="https://evil.example")
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    r = _batch(env, [{"event": "pageview"}], origin="http://127.0.0.1:8000")
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"
    pre = env.http.options("/e", headers={"origin": "http://localhost:8000",
                                          "access-control-request-method": "POST"})
    assert pre.status_code == 204
    assert env.http.options("/e", headers={"origin": "https://evil.example"}).status_code == 403


def test_server_side_events_need_an_api_key(env: Env) -> None:
    marker = uuid.uuid4().hex
    ev = [{"event": "purchase", "value": 49.0, "magnet_id": marker, "visitor_id": "crm-1",
           "ts": int(time.time() * 1000) - 20 * 86_400_000}]
    r = env.http.post("/v1/events", json={"events": ev})
    assert r.status_code == 401 and "API key" in r.json()["error"]["message"]
    r = env.http.post("/v1/events", json={"events": ev}, headers={"Authorization": "Bearer ls_live_00000000_bad"})
    assert r.status_code == 401
    r = env.http.post("/v1/events", json={"events": ev}, headers={"Authorization": f"Bearer {env.org.api_key}"})
    assert r.status_code == 200 and r.json() == {"accepted": 1, "rejected": []}
    # a site key of another organization is refused
    r = env.http.post("/v1/events", json={"site": env.other.site_key, "events": ev},
                      headers={"Authorization": f"Bearer {env.org.api_key}"})
    assert r.status_code == 403
    rows = wait_for(lambda: env.events(f"magnet_id = '{marker}'"))
    assert rows[0]["visitor_id"] == "crm-1" and rows[0]["value"] == 49.0
    assert rows[0]["flags"] & FLAG_TS_CLAMPED == 0  # 20 days back is fine server-side


def test_implausible_client_timestamps_are_clamped_and_flagged(env: Env) -> None:
    marker = uuid.uuid4().hex
    future = int(time.time() * 1000) + 3 * 86_400_000
    assert _batch(env, [{"event": "pageview", "magnet_id": marker, "ts": future}]).json()["accepted"] == 1
    row = wait_for(lambda: env.events(f"magnet_id = '{marker}'"))[0]
    assert row["flags"] & FLAG_TS_CLAMPED
    assert abs(row["ts"].timestamp() * 1000 - row["received_at"].timestamp() * 1000) < 1000


def test_bots_dnt_and_no_raw_ip(env: Env) -> None:
    marker = uuid.uuid4().hex
    r = env.http.post("/e", json={"site": env.org.site_key, "events": [{"event": "pageview", "magnet_id": marker}]},
                      headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
    assert r.json()["accepted"] == 0 and "bot" in r.json()["rejected"][0]["reason"]
    r = _batch(env, [{"event": "pageview", "magnet_id": marker}], dnt="1")
    assert r.json()["accepted"] == 0
    r = env.http.get("/p.gif", params={"site": env.org.site_key, "magnet_id": marker}, headers={"sec-gpc": "1"})
    assert r.status_code == 200
    time.sleep(0.8)
    assert env.events(f"magnet_id = '{marker}'") == []
    # from a distinctive loopback address: it must appear in no stored row and no spool file
    with httpx.Client(base_url=env.base, headers={"User-Agent": CHROME}, timeout=20,
                      transport=httpx.HTTPTransport(local_address="127.0.0.9")) as http:
        assert http.get("/p.gif", params={"site": env.org.site_key, "magnet_id": marker}).status_code == 200
        http.post("/e", json={"site": env.org.site_key, "events": [{"event": "lead", "magnet_id": marker}]})
        spooled = [p.read_bytes() for p in env.settings.spool_dir.glob("slot-*/*") if p.is_file()]
    rows = wait_for(lambda: len(env.events(f"magnet_id = '{marker}'")) == 2 and env.events())
    assert rows and all("127.0.0.9" not in " ".join(str(v) for v in row.values()) for row in rows)
    assert all(b"127.0.0.9" not in data for data in spooled)


def test_cookieless_visitor_id_is_stable_within_a_day(env: Env) -> None:
    marker = uuid.uuid4().hex
    for _ in range(2):
        _batch(env, [{"event": "pageview", "magnet_id": marker, "visitor_id": "spoofed"}])
    rows = wait_for(lambda: len(env.events(f"magnet_id = '{marker}'")) == 2 and env.events(f"magnet_id = '{marker}'"))
    ids = {r["visitor_id"] for r in rows}
    assert len(ids) == 1 and "spoofed" not in ids  # cookieless orgs ignore client ids
    salts = list((env.settings.data_path / "salts").glob("*.salt"))
    assert len(salts) == 1


def test_health_metrics_and_snippet(env: Env) -> None:
    h = env.http.get("/healthz").json()
    assert h["status"] == "ok"
    m = env.http.get("/metrics").text
    assert "lodestone_events_accepted_total" in m and 'reason="bot"' in m
    s = env.http.get("/s.js")
    assert s.status_code == 200 and "sendBeacon" in s.text
    assert s.headers["content-type"].startswith("application/javascript")


def test_spool_is_empty_after_shipping(env: Env) -> None:
    spool: Path = env.settings.spool_dir
    assert wait_for(lambda: not list(spool.glob("slot-*/*.sealed")), timeout=5)
