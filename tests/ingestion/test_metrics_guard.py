"""The collector's own server guards /metrics like the API: a token, else loopback only."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from ingestion.app import guard_metrics


async def _metrics(_: Request) -> PlainTextResponse:
    return PlainTextResponse("lodestone_events_accepted_total 1\n")


def _client(token: str, host: str) -> TestClient:
    app = guard_metrics(Starlette(routes=[Route("/metrics", _metrics),
                                          Route("/healthz", _metrics)]), token)
    return TestClient(app, client=(host, 50000))


def test_without_a_token_only_loopback_clients_may_scrape() -> None:
    assert _client("", "127.0.0.1").get("/metrics").status_code == 200
    assert _client("", "::1").get("/metrics").status_code == 200
    refused = _client("", "203.0.113.9").get("/metrics")
    assert refused.status_code == 403
    assert "LODESTONE_METRICS_TOKEN" in refused.json()["error"]["message"]
    assert _client("", "203.0.113.9").get("/healthz").status_code == 200  # only /metrics


def test_with_a_token_every_client_must_send_it() -> None:
    remote, local = _client("t0ken-abc", "203.0.113.9"), _client("t0ken-abc", "127.0.0.1")
    assert local.get("/metrics").status_code == 401
    assert remote.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = remote.get("/metrics", headers={"Authorization": "Bearer t0ken-abc"})
    assert ok.status_code == 200 and "accepted_total" in ok.text
