"""OpenAPI documents the real error body: a real 4xx of every route family matches it."""

from __future__ import annotations

import re
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from app_api.main import ROUTERS, api_routes, create_app
from tests.app_api.world import World
from tests.helpers import make_settings


def _declared(doc: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    responses = doc["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} answered {status}, not declared"
    return responses[str(status)]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


def _check(doc: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    schema = {**_declared(doc, path, method, status), "components": doc["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{method} {path} {status}: {errors[0].message} in {body}"


def test_every_operation_declares_the_error_body_and_not_fastapis_default() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        doc = create_app(make_settings(Path(tmp)), with_collector=False).openapi()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    error = doc["components"]["schemas"]["ErrorInfo"]
    assert set(error["required"]) == {"code", "message", "details"}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            fours = [s for s in operation["responses"] if s.startswith("4")]
            assert fours, f"{method} {path} declares no 4xx"
            for status in fours:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path)


def _provoke(client: TestClient, world: World, path: str, method: str,
             operation: dict[str, Any]) -> tuple[int, Any]:
    """A real 4xx: an unknown id, an invalid body or parameter, or no credentials."""
    auth = world.a.auth("owner")
    if "{" in path:
        url = re.sub(r"\{[^}]+\}", "nope-missing", path)
        response = client.request(method, url, headers=auth,
                                  json={} if operation.get("requestBody") else None)
    elif operation.get("requestBody"):
        response = client.request(method, path, headers=auth, json={"unexpected": [1, 2]})
    elif any(p["name"] == "limit" for p in operation.get("parameters", [])):
        response = client.request(method, path, headers=auth, params={"limit": "many"})
    else:
        response = client.request(method, path)  # no credentials
    return response.status_code, response.json()


def test_a_real_4xx_of_every_route_family_matches_its_declared_schema(
        module_client: TestClient, module_world: World) -> None:
    doc = module_client.get("/openapi.json").json()
    by_module: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path, methods, route in api_routes(module_client.app):  # type: ignore[arg-type]
        if route.include_in_schema:
            for method in methods:
                by_module[route.endpoint.__module__].append((path, method))
    documented = {m.__name__ for m in ROUTERS if m.router.include_in_schema}
    assert documented - {"app_api.routes.landing", "app_api.routes.mail_links",
                         "app_api.routes.embed"} <= set(by_module)
    seen = {}
    for module, ops in sorted(by_module.items()):
        for path, method in sorted(ops, key=lambda o: (o[1] != "GET", "{" not in o[0], o)):
            operation = doc["paths"][path][method.lower()]
            status, body = _provoke(module_client, module_world, path, method, operation)
            if 400 <= status < 500:
                _check(doc, path, method, status, body)
                seen[module] = (method, path, status)
                break
        assert module in seen, f"no 4xx provoked in {module}"
        # and the same operation without credentials, where one is needed
        method, path, _ = seen[module]
        if "x-permission" in doc["paths"][path][method.lower()]:
            response = module_client.request(method, re.sub(r"\{[^}]+\}", "x", path))
            assert response.status_code == 401
            _check(doc, path, method, 401, response.json())
    assert len(seen) >= 25, seen
    assert {s for _, _, s in seen.values()} >= {404, 422}
