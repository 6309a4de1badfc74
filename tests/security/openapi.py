"""What the hostile tests derive from the API's own OpenAPI document (new routes included)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) of every documented operation."""
    out = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                out.append((method.upper(), path, op))
    return out


def paginated(app: FastAPI) -> list[str]:
    """GET paths that take a ``cursor`` query parameter."""
    return [path for method, path, op in operations(app) if method == "GET"
            and any(p.get("name") == "cursor" and p.get("in") == "query"
                    for p in op.get("parameters", []))]


def with_body(app: FastAPI) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation that declares a JSON request body."""
    return [(method, path) for method, path, op in operations(app)
            if "application/json" in op.get("requestBody", {}).get("content", {})]


def fill(path: str, ids: dict[str, str]) -> str:
    """``path`` with each ``{name}`` replaced by that resource's id."""
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path
