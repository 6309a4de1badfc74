"""Batch validation with msgspec: one C-level decode for the whole batch, reasons per event.

The fast path decodes every event into :class:`InEvent`, whose field types carry the limits
(event type as a ``Literal``, string lengths, a finite value, a UUID ``event_id``), so a
valid batch is checked without a Python loop. When anything in it is invalid, each event is
decoded on its own as a :class:`LaxEvent` and :func:`check_event` explains, in words a
person can act on, why it was refused; the valid events of the batch are still accepted.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from ingestion.json_depth import MAX_JSON_DEPTH, value_depth_exceeds
from kernel.schema import EVENT_COLUMNS, EVENT_TYPES

MAX_EVENTS_PER_BATCH = 500
MAX_BODY_BYTES = 1024 * 1024
FUTURE_SKEW_MS = 5 * 60 * 1000
PAST_SKEW_MS_BROWSER = 24 * 3600 * 1000
PAST_SKEW_MS_SERVER = 400 * 24 * 3600 * 1000
MAX_LEN = {c.name: c.max_len for c in EVENT_COLUMNS if c.max_len}
MAX_VALUE = 1e15

EventName = Literal[
    "pageview", "magnet_view", "exposure", "form_start", "lead", "confirmed", "download",
    "click", "email_open", "purchase", "custom",
]
if set(EventName.__args__) != EVENT_TYPES:  # type: ignore[attr-defined]
    raise RuntimeError("ingestion.validate.EventName must list kernel.schema.EventType")
Value = Annotated[float, Meta(ge=-MAX_VALUE, le=MAX_VALUE)]  # rejects NaN and +-inf too


Str2 = Annotated[str, Meta(max_length=2)]
Str64 = Annotated[str, Meta(max_length=64)]
Str256 = Annotated[str, Meta(max_length=256)]
Str2048 = Annotated[str, Meta(max_length=2048)]


class InEvent(msgspec.Struct, omit_defaults=True, gc=False):
    """One event as sent by the snippet, the pixel or a server (strict: every limit typed).

    The field order is the column order :mod:`ingestion.columns` relies on.
    """

    event: EventName
    ts: float | None = None  # ms since the epoch (client clock)
    event_id: uuid.UUID | None = None
    visitor_id: Str64 = ""
    session_id: Str64 = ""
    magnet_id: Str64 = ""
    experiment_id: Str64 = ""
    variant: Str64 = ""
    url: Str2048 = ""
    referrer: Str2048 = ""
    utm_source: Str256 = ""
    utm_medium: Str256 = ""
    utm_campaign: Str256 = ""
    utm_term: Str256 = ""
    utm_content: Str256 = ""
    value: Value = 0.0
    props: dict[str, Any] | None = None
    country: Str2 = ""


class LaxEvent(msgspec.Struct, omit_defaults=True, gc=False):
    """Same fields and order as :class:`InEvent`, without limits: used to explain refusals."""

    event: str
    ts: float | None = None
    event_id: str | None = None
    visitor_id: str = ""
    session_id: str = ""
    magnet_id: str = ""
    experiment_id: str = ""
    variant: str = ""
    url: str = ""
    referrer: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_term: str = ""
    utm_content: str = ""
    value: float = 0.0
    props: dict[str, Any] | None = None
    country: str = ""


if InEvent.__struct_fields__ != LaxEvent.__struct_fields__:
    raise RuntimeError("InEvent and LaxEvent must declare the same fields")
EVENT_FIELDS: tuple[str, ...] = InEvent.__struct_fields__


class _Typed(msgspec.Struct, gc=False):
    events: list[InEvent]
    site: str = ""


class _Raw(msgspec.Struct, gc=False):
    events: list[msgspec.Raw]
    site: str = ""


class BadRequest(Exception):
    """The whole request is unusable (malformed JSON, too large); maps to a 4xx."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Decoded:
    """A decoded batch: the acceptable events, where each came from, and the refusals."""

    site: str
    events: list[InEvent] | list[InEvent | LaxEvent]
    index: list[int] | None = None  # original position of events[i]; None = identity
    rejected: list[dict[str, object]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.events) + len(self.rejected)


_typed_decoder = msgspec.json.Decoder(_Typed)
_raw_decoder = msgspec.json.Decoder(_Raw)
_lax_decoder = msgspec.json.Decoder(LaxEvent)


def too_deep() -> BadRequest:
    return BadRequest(f"JSON nested more than {MAX_JSON_DEPTH} levels deep (arrays and "
                      f"objects inside one another); the limit is {MAX_JSON_DEPTH}")


def decode_batch(body: bytes) -> Decoded:
    """Decode ``{"site": ..., "events": [...]}``; whole-request problems raise BadRequest."""
    try:
        decoded = _decode_batch(body)
    except RecursionError:  # thousands of levels: the decoder gave up before we could look
        raise too_deep() from None
    # The envelope, the events list and each event are 3 levels; only props nest freely.
    for ev in decoded.events:
        if ev.props and value_depth_exceeds(ev.props, MAX_JSON_DEPTH - 3):
            raise too_deep()
    return decoded


def _decode_batch(body: bytes) -> Decoded:
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}", 413)
    try:
        typed = _typed_decoder.decode(body)
    except msgspec.ValidationError:
        _check_utf8(body)  # something in it is invalid: find out what, below
    except (msgspec.DecodeError, UnicodeDecodeError):
        _explain_undecodable(body)
    else:
        if len(typed.events) > MAX_EVENTS_PER_BATCH:
            raise _too_many(len(typed.events))
        return Decoded(typed.site, typed.events)
    try:
        raw = _raw_decoder.decode(body)
    except msgspec.ValidationError as exc:
        try:
            msgspec.json.decode(body)
        except msgspec.DecodeError as bad:
            raise BadRequest(f"malformed JSON: {bad}") from None
        raise BadRequest(f'expected {{"site": "...", "events": [...]}}: {exc}') from None
    except (UnicodeDecodeError, msgspec.DecodeError):  # malformed past where typing failed
        _explain_undecodable(body)
        raise
    if len(raw.events) > MAX_EVENTS_PER_BATCH:
        raise _too_many(len(raw.events))
    out = Decoded(raw.site, [], [])
    assert out.index is not None
    for i, item in enumerate(raw.events):
        try:
            ev = _lax_decoder.decode(item)
        except (msgspec.ValidationError, UnicodeDecodeError) as exc:
            out.rejected.append({"index": i, "reason": str(exc)})
            continue
        reason = check_event(ev)
        if reason is None:
            out.events.append(ev)  # type: ignore[arg-type]
            out.index.append(i)
        else:
            out.rejected.append({"index": i, "reason": reason})
    return out


def _too_many(n: int) -> BadRequest:
    return BadRequest(f"{n} events in one batch; the limit is {MAX_EVENTS_PER_BATCH}", 413)


def _check_utf8(body: bytes) -> None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not valid UTF-8 (byte {exc.start})") from None


def _explain_undecodable(body: bytes) -> None:
    _check_utf8(body)
    try:
        msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    raise BadRequest("malformed JSON")  # pragma: no cover - typed decode failed, plain did not


def check_event(ev: LaxEvent) -> str | None:
    """Why ``ev`` is unacceptable, in words, or None."""
    if ev.event not in EVENT_TYPES:
        return f"unknown event type {ev.event[:32]!r}; expected one of {sorted(EVENT_TYPES)}"
    for name, limit in MAX_LEN.items():
        value = getattr(ev, name, None)
        if isinstance(value, str) and len(value) > limit:
            return f"field {name} is {len(value)} characters; the limit is {limit}"
    if not math.isfinite(ev.value) or abs(ev.value) > MAX_VALUE:
        return f"value must be a finite number within +-{MAX_VALUE:g}"
    if ev.event_id is not None:
        try:
            uuid.UUID(ev.event_id)
        except ValueError:
            return f"event_id {ev.event_id[:40]!r} is not a UUID"
    return None


def now_ms() -> int:
    return int(time.time() * 1000)
