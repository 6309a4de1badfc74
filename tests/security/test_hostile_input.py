"""Hostile input never gets a 5xx: lone surrogates, deep nesting, huge integers (issue #18, 9)."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from tests.app_api.world import World
from tests.security.openapi import fill, paginated, with_body

LONE = "\ud800"


def _cursor(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode("utf-8", "surrogatepass")).decode().rstrip("=")


HOSTILE_CURSORS = [
    _cursor('["2026-01-01T00:00:00+00:00","\\ud800"]'),  # JSON escape of a lone surrogate
    _cursor('["2026-01-01T00:00:00+00:00","a\\udfff"]'),
    _cursor('["2026-01-01T00:00:00+00:00",' + "[" * 3000 + "]" * 3000 + "]"),
    _cursor('["\\ud800","x"]'),
    _cursor('[1e999,"x"]'),
    "%ED%A0%80",
]


def test_every_paginated_list_refuses_hostile_cursors(module_client: TestClient,
                                                      module_world: World) -> None:
    lists = paginated(module_client.app)  # type: ignore[arg-type]
    assert len(lists) >= 10, lists
    for path in lists:
        url = fill(path, module_world.a.ids)
        for cursor in HOSTILE_CURSORS:
            r = module_client.get(url, params={"cursor": cursor},
                                  headers=module_world.a.key_auth())
            assert r.status_code in (400, 422), (path, cursor[:40], r.status_code, r.text)
            assert r.json()["error"]["code"] in ("bad_request", "invalid")
        # and the connection still answers normally afterwards
        assert module_client.get(url, headers=module_world.a.key_auth()).status_code == 200


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [200, 5000])
def test_api_bodies_refuse_deep_nesting_naming_the_limit(module_client: TestClient,
                                                         module_world: World, depth: int) -> None:
    for method, path in with_body(module_client.app):  # type: ignore[arg-type]
        body = '{"name": ' + _nested(depth) + "}"
        r = module_client.request(method, fill(path, module_world.a.ids), content=body,
                                  headers={**module_world.a.key_auth(),
                                           "content-type": "application/json"})
        assert r.status_code == 400, (method, path, r.status_code, r.text[:200])
        assert "nested" in r.json()["error"]["message"]
        assert "64" in r.json()["error"]["message"]


def test_api_bodies_refuse_lone_surrogates(module_client: TestClient,
                                           module_world: World) -> None:
    for method, path in with_body(module_client.app):  # type: ignore[arg-type]
        ids = module_world.a.ids
        body = json.dumps({"name": "x\\ud800", "email": "a\\udc00@example.com",
                           "slug": "s\\ud800", "key": "k\\ud800"}).replace("\\\\", "\\")
        r = module_client.request(method, fill(path, ids), content=body,
                                  headers={**module_world.a.key_auth(),
                                           "content-type": "application/json"})
        assert r.status_code == 400, (method, path, r.status_code, r.text[:200])
        assert "surrogate" in r.json()["error"]["message"]
