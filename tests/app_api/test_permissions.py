"""RBAC: every route declares one permission, and each role gets exactly its permissions."""

from __future__ import annotations

import secrets

import pytest
from fastapi.testclient import TestClient

from app_api.deps import route_permission
from app_api.main import api_routes
from kernel.permissions import ALL_PERMISSIONS, ROLE_PERMISSIONS
from tests.app_api.route_table import AUTHENTICATED, PUBLIC, ROUTES, fill, request_kwargs
from tests.app_api.world import ROLES, World

METHODS = {"get", "post", "put", "patch", "delete"}


def _call(client: TestClient, method: str, path: str, body: object, ids: dict[str, str],
          headers: dict[str, str]):  # type: ignore[no-untyped-def]
    rand = secrets.token_hex(3)
    kwargs = request_kwargs(fill(body, ids, rand))
    return client.request(method, fill(path, ids, rand),
                          headers={**headers, **kwargs.pop("headers", {})}, **kwargs)


def _denied(response) -> bool:  # type: ignore[no-untyped-def]
    if response.status_code != 403:
        return False
    details = response.json()["error"]["details"]
    return any("missing_permission" in d for d in details)


def test_table_covers_every_operation_in_the_openapi_schema(module_client: TestClient) -> None:
    spec = module_client.get("/openapi.json").json()
    operations = {(m.upper(), p) for p, item in spec["paths"].items() for m in item
                  if m in METHODS}
    assert operations == set(ROUTES), (
        f"missing from the table: {sorted(operations - set(ROUTES))}; "
        f"gone from the API: {sorted(set(ROUTES) - operations)}")


def test_every_route_declares_the_permission_in_the_table(module_client: TestClient) -> None:
    for path, methods, route in api_routes(module_client.app):  # type: ignore[arg-type]
        if not path.startswith("/v1/"):
            continue
        uses, permission = route_permission(route)
        for method in methods:
            expected = ROUTES[(method, path)][0]
            if expected == PUBLIC:
                assert not uses, f"{method} {path} is public in the table"
            else:
                assert uses, f"{method} {path} does not use authorize"
                assert permission == (None if expected == AUTHENTICATED else expected), (
                    f"{method} {path} requires {permission}, the table says {expected}")


def test_operations_document_their_docstring(module_client: TestClient) -> None:
    spec = module_client.get("/openapi.json").json()
    undocumented = [f"{m.upper()} {p}" for p, item in spec["paths"].items()
                    for m, op in item.items() if m in METHODS
                    and not op.get("description", "").split("Requires:")[0].strip()]
    assert not undocumented


def test_without_credentials_every_protected_route_answers_401(
        module_client: TestClient, module_world: World) -> None:
    for (method, path), (permission, body) in ROUTES.items():
        if permission == PUBLIC:
            continue
        r = _call(module_client, method, path, body, module_world.a.ids, {})
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.json()["error"]["code"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_permissions(module_client: TestClient,
                                                module_world: World, role: str) -> None:
    org = module_world.a
    wrong = []
    for (method, path), (permission, body) in ROUTES.items():
        if permission == PUBLIC:
            continue
        r = _call(module_client, method, path, body, org.ids, org.auth(role))
        assert r.status_code != 401, (method, path, r.text)
        should_deny = permission != AUTHENTICATED and permission not in ROLE_PERMISSIONS[role]
        if _denied(r) != should_deny:
            wrong.append(f"{method} {path}: {r.status_code} {r.text[:120]}")
        assert r.status_code < 500, (method, path, r.text)
    assert not wrong, f"role {role}: " + "; ".join(wrong)


@pytest.mark.parametrize("scopes", [["lead_magnets:read"], ["events:write", "analytics:view"],
                                    ["team:manage"]])
def test_api_keys_get_exactly_their_scopes(module_client: TestClient, module_world: World,
                                           scopes: list[str]) -> None:
    org = module_world.a
    created = module_client.post("/v1/api-keys", headers=org.auth("owner"),
                                 json={"name": "scoped", "scopes": scopes})
    assert created.status_code == 201, created.text
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    wrong = []
    for (method, path), (permission, body) in ROUTES.items():
        if permission in (PUBLIC, AUTHENTICATED) or method != "GET":
            continue
        r = _call(module_client, method, path, body, org.ids, headers)
        if _denied(r) != (permission not in scopes):
            wrong.append(f"{method} {path}: {r.status_code}")
    assert not wrong


def test_a_key_cannot_get_more_than_its_creator(module_client: TestClient,
                                                module_world: World) -> None:
    org = module_world.a
    limited = module_client.post("/v1/api-keys", headers=org.auth("owner"),
                                 json={"name": "team", "scopes": ["team:manage"]}).json()
    r = module_client.post("/v1/api-keys", headers={"Authorization": f"Bearer {limited['token']}"},
                           json={"name": "escalate", "scopes": list(ALL_PERMISSIONS)})
    assert r.status_code == 403
    assert "at most your own permissions" in r.json()["error"]["message"]
