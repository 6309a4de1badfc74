"""Types shared by the routes: safe strings, finite numbers, JSON objects, pages."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from kernel.metadata.enums import ConsentMode, Role

T = TypeVar("T")

MAX_JSON_DEPTH = 16
#: What ids look like (``mag_<hex>``); anything else in a path or filter is refused early.
ID_PATTERN = r"^[A-Za-z0-9_.-]+$"


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def _check_json(value: Any, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        _clean_text(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must not contain NaN or Infinity")
    elif isinstance(value, dict):
        for k, v in value.items():
            _clean_text(str(k))
            _check_json(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_json(v, depth + 1)


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    _check_json(value)
    if len(json.dumps(value)) > 256 * 1024:
        raise ValueError("must be at most 256 KiB of JSON")
    return value


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=dt.UTC)  # a timestamp without offset is read as UTC
    if not dt.datetime(1970, 1, 1, tzinfo=dt.UTC) <= value <= dt.datetime(
            9000, 1, 1, tzinfo=dt.UTC):
        raise ValueError("must be between 1970 and 9000")
    return value.astimezone(dt.UTC)


def _date_range(value: dt.date) -> dt.date:
    if not dt.date(1970, 1, 1) <= value <= dt.date(9000, 1, 1):
        raise ValueError("must be between 1970-01-01 and 9000-01-01")
    return value


def _stripped(max_length: int, min_length: int = 0) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


Name = Annotated[str, _stripped(200, 1), AfterValidator(_clean_text)]
Label = Annotated[str, _stripped(200), AfterValidator(_clean_text)]
LongText = Annotated[str, _stripped(10_000), AfterValidator(_clean_text)]
Url = Annotated[str, _stripped(2048, 1), AfterValidator(_clean_text)]
QueryText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_clean_text)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,118}[a-z0-9])?$")]
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")]
Email = Annotated[str, StringConstraints(
    strip_whitespace=True, to_lower=True, max_length=320,
    pattern=r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ID_PATTERN)]
#: An id in a URL path (``/v1/magnets/{magnet_id}``); a malformed one is a 422, never a query.
PathId = Annotated[str, Path(max_length=64, pattern=ID_PATTERN)]
JSONObject = Annotated[dict[str, Any], AfterValidator(_json_object)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Money = Annotated[float, Field(allow_inf_nan=False, ge=0, le=1e12)]  # non-negative amounts
AwareDatetime = Annotated[dt.datetime, AfterValidator(_aware)]
Date = Annotated[dt.date, AfterValidator(_date_range)]


class Out(BaseModel):
    """Base of response models: built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    """Base of request bodies: unknown fields are refused, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` to get the next one."""

    data: list[T]
    next_cursor: str | None = Field(None, description="Opaque; null on the last page.")


# -- response models shared by several routers ---------------------------------------------

class OrganizationOut(Out):
    id: str
    name: str
    slug: str
    consent_mode: ConsentMode
    settings: dict[str, Any]
    created_at: dt.datetime


class UserOut(Out):
    id: str
    org_id: str
    email: str
    name: str
    role: Role
    is_active: bool
    last_login_at: dt.datetime | None
    created_at: dt.datetime
