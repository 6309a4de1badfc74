"""One JSON error shape for every API: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kernel.errors import DomainError

log = logging.getLogger(__name__)


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `not_found`, `invalid`.")
    message: str = Field(description="What went wrong, in words a person can act on.")
    details: list[Any] = Field(description="More context: for `invalid`, one "
                               "`{field, message}` per problem; often empty.")


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer of the API."""

    error: ErrorInfo


class APIError(Exception):
    """Raise from a route to answer with ``status`` and the standard error body."""

    def __init__(self, status: int, code: str, message: str, details: list[Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = headers


def not_found(kind: str, id_: str) -> APIError:
    """404 for a resource that does not exist *in the caller's organization*."""
    return APIError(404, "not_found", f"no {kind} with id {id_!r} in your organization")


def conflict(message: str, details: list[Any] | None = None) -> APIError:
    return APIError(409, "conflict", message, details)


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media",
          422: "invalid", 429: "rate_limited", 503: "unavailable"}

#: HTTP status of each domain error code (kernel.errors); anything else is a 422.
DOMAIN_STATUS = {"forbidden": 403, "not_found": 404, "conflict": 409, "invalid_transition": 409,
                 "checks_failed": 409, "gone": 410}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details),
                            DOMAIN_STATUS.get(exc.code, 422))

    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), exc.status,
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        first = details[0] if details else {"field": "", "message": "invalid request"}
        return JSONResponse(
            error_body("invalid", f"{first['field']}: {first['message']}", details), 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error: %s", exc.orig)
        return JSONResponse(error_body(
            "conflict", "this would duplicate an existing record (a unique value such as a "
            "slug, key or email is already taken) or refer to a record that does not exist"),
            409)

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        log.info("data error: %s", exc.orig)
        return JSONResponse(error_body("invalid", "a value is out of range or cannot be "
                                       "stored; check numbers, dates and text"), 422)

    @app.exception_handler(StatementError)
    async def _statement(_: Request, exc: StatementError) -> JSONResponse:
        log.warning("statement error: %s", exc)
        return JSONResponse(error_body("invalid", "a value cannot be stored; check numbers, "
                                       "dates and text"), 422)

    @app.exception_handler(UnicodeEncodeError)
    async def _unencodable(_: Request, exc: UnicodeEncodeError) -> JSONResponse:
        # Only a lone surrogate in the input gets this far (UTF-8 encodes everything else).
        log.info("unencodable text: %s", exc)
        return JSONResponse(error_body("bad_request", "text holds a lone UTF-16 surrogate, "
                                       "which cannot be stored; send valid Unicode"), 400)

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(error_body("internal", "internal error; it has been logged"), 500)


#: What each documented status means, as shown in OpenAPI.
_DESCRIPTIONS = {
    400: "Malformed request (the body is not JSON, or text holds a lone surrogate)",
    401: "Not signed in: send `Authorization: Bearer <API key or session token>`",
    403: "Signed in, but your role lacks the permission this operation requires",
    404: "No such resource in your organization",
    409: "Conflict with the current state (duplicate, wrong status, failed checks)",
    413: "The body is larger than this operation accepts",
    422: "A parameter or the body is invalid; `details` names each field",
    429: "Too many requests; retry after the `Retry-After` header",
}
_WRITES = {"post", "put", "patch", "delete"}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The 4xx answers an operation can give, from what it takes and who may call it."""
    out = {int(s) for s in operation.get("responses", {}) if s.isdigit() and int(s) >= 400}
    if operation.get("parameters") or operation.get("requestBody"):
        out.add(422)
    if "x-permission" in operation:
        out |= {401, 403}
    if "{" in path:
        out.add(404)
    if operation.get("requestBody"):
        out |= {400, 413}
    if method in _WRITES:
        out.add(409)
    return out


def document_errors(app: FastAPI) -> None:
    """Declare the real error body (:class:`ErrorResponse`) for every 4xx of every operation,
    replacing FastAPI's default ``HTTPValidationError`` 422 schema."""
    inner = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = inner()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        model = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model.pop("$defs", {}))
        components["ErrorResponse"] = model
        ref = {"$ref": "#/components/schemas/ErrorResponse"}
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                responses = operation.setdefault("responses", {})
                for status in sorted(_statuses(path, method, operation)):
                    entry = responses.setdefault(str(status), {})
                    entry["description"] = _DESCRIPTIONS.get(status, entry.get("description")
                                                             or "Error")
                    entry["content"] = {"application/json": {"schema": ref}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
