"""Batch validation with msgspec: one decode for the whole batch, per-event reasons on error."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import msgspec

from kernel.events import Row
from kernel.schema import EVENT_COLUMNS, EVENT_TYPES, FLAG_TS_CLAMPED

MAX_EVENTS_PER_BATCH = 500
MAX_BODY_BYTES = 1024 * 1024
FUTURE_SKEW_MS = 5 * 60 * 1000
PAST_SKEW_MS_BROWSER = 24 * 3600 * 1000
PAST_SKEW_MS_SERVER = 400 * 24 * 3600 * 1000
MAX_LEN = {c.name: c.max_len for c in EVENT_COLUMNS if c.max_len}


class InEvent(msgspec.Struct, omit_defaults=True, gc=False):
    """One event as sent by the snippet, the pixel or a server."""

    event: str
    ts: float | None = None  # ms since the epoch (client clock)
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


class Batch(msgspec.Struct, gc=False):
    events: list[msgspec.Raw]
    site: str = ""


class BadRequest(Exception):
    """The whole request is unusable (malformed JSON, too large); maps to a 4xx."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


_batch_decoder = msgspec.json.Decoder(Batch)
_typed_batch = msgspec.json.Decoder(list[InEvent])
_event_decoder = msgspec.json.Decoder(InEvent)
_props_encoder = msgspec.json.Encoder()


def decode_batch(body: bytes) -> tuple[str, list[InEvent | str]]:
    """Decode a batch; returns the site key and, per event, an InEvent or a rejection reason."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}", 413)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not valid UTF-8 (byte {exc.start})") from None
    try:
        batch = _batch_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"expected {{\"events\": [...]}}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    if len(batch.events) > MAX_EVENTS_PER_BATCH:
        raise BadRequest(
            f"{len(batch.events)} events in one batch; the limit is {MAX_EVENTS_PER_BATCH}", 413
        )
    raws = batch.events
    try:  # fast path: the whole list in one typed decode
        joined = b"[" + b",".join(bytes(r) for r in raws) + b"]"
        return batch.site, list(_typed_batch.decode(joined))
    except msgspec.ValidationError:
        pass
    out: list[InEvent | str] = []
    for raw in raws:
        try:
            out.append(_event_decoder.decode(raw))
        except msgspec.ValidationError as exc:
            out.append(str(exc))
    return batch.site, out


def check_event(ev: InEvent) -> str | None:
    """Why ``ev`` is unacceptable, or None."""
    if ev.event not in EVENT_TYPES:
        return f"unknown event type {ev.event[:32]!r}; expected one of {sorted(EVENT_TYPES)}"
    for name, limit in MAX_LEN.items():
        value = getattr(ev, name, None)
        if isinstance(value, str) and len(value) > limit:
            return f"field {name} is {len(value)} characters; the limit is {limit}"
    if not math.isfinite(ev.value):
        return "value must be a finite number"
    if ev.event_id is not None:
        try:
            uuid.UUID(ev.event_id)
        except ValueError:
            return f"event_id {ev.event_id[:40]!r} is not a UUID"
    return None


def to_row(
    ev: InEvent,
    *,
    org_id: str,
    site_id: str,
    received_ms: int,
    visitor_id: str,
    channel: str,
    browser: str,
    os_name: str,
    device: str,
    country: str,
    server_side: bool,
    extra_flags: int = 0,
) -> Row | str:
    """Build a warehouse row, clamping implausible client timestamps. A str is a rejection."""
    flags = extra_flags
    ts = int(ev.ts) if ev.ts is not None and math.isfinite(ev.ts) else received_ms
    past = PAST_SKEW_MS_SERVER if server_side else PAST_SKEW_MS_BROWSER
    if ts > received_ms + FUTURE_SKEW_MS or ts < received_ms - past:
        ts, flags = received_ms, flags | FLAG_TS_CLAMPED
    props = ""
    if ev.props:
        props = _props_encoder.encode(ev.props).decode()
        if len(props) > MAX_LEN["props"]:
            return f"props is {len(props)} bytes of JSON; the limit is {MAX_LEN['props']}"
    eid = uuid.UUID(ev.event_id).bytes if ev.event_id else uuid.uuid4().bytes
    return (
        eid, org_id, site_id, ts, received_ms, ev.event, visitor_id, ev.session_id,
        ev.magnet_id, ev.experiment_id, ev.variant, ev.url, ev.referrer, ev.utm_source,
        ev.utm_medium, ev.utm_campaign, ev.utm_term, ev.utm_content, channel, device,
        browser, os_name, (ev.country or country)[:2].upper(), float(ev.value), props, flags,
    )


def now_ms() -> int:
    return int(time.time() * 1000)
