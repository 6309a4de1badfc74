"""Batch validation and the column blocks built from it (no server)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from msgspec import Meta

from ingestion.columns import RequestFacts, build_block, channels, rows_to_block, to_record_batch
from ingestion.pixel import parse_query, pixel_block
from ingestion.validate import MAX_LEN, BadRequest, InEvent, decode_batch
from kernel.events import make_row, rows_to_arrow
from kernel.schema import FLAG_TS_CLAMPED


def _body(events: list[Any], site: str = "pub_x") -> bytes:
    return json.dumps({"site": site, "events": events}).encode()


def _ctx(received: int | None = None, trust: bool = True) -> RequestFacts:
    return RequestFacts("org", "site", received or int(time.time() * 1000), "Chrome", "Linux",
                   "desktop", "DE", 0, 24 * 3600 * 1000, trust, lambda: "c-cookieless")


def test_typed_limits_are_the_schemas() -> None:
    for name, hint in InEvent.__annotations__.items():
        metas = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Meta)]
        if name in MAX_LEN and metas:
            assert metas[0].max_length == MAX_LEN[name], name


def test_valid_batch_takes_the_fast_path() -> None:
    d = decode_batch(_body([{"event": "pageview", "url": "https://a.example/"}] * 3))
    assert d.site == "pub_x" and len(d.events) == 3 and d.index is None and d.rejected == []


@pytest.mark.parametrize(("event", "reason"), [
    ({"event": "nope"}, "unknown event type 'nope'"),
    ({"event": "lead", "url": "x" * 2049}, "field url is 2049 characters; the limit is 2048"),
    ({"event": "lead", "value": "1"}, "Expected `float`, got `str`"),
    ({"event": "lead", "value": 1e300}, "value must be a finite number"),
    ({"event": "lead", "event_id": "123"}, "event_id '123' is not a UUID"),
    ({"url": "https://a.example/"}, "missing required field `event`"),
    ("a string", "Expected `object`, got `str`"),
])
def test_each_bad_event_gets_a_reason_and_the_rest_is_kept(event: Any, reason: str) -> None:
    d = decode_batch(_body([{"event": "pageview"}, event, {"event": "lead"}]))
    assert [e.event for e in d.events] == ["pageview", "lead"] and d.index == [0, 2]
    assert len(d.rejected) == 1 and d.rejected[0]["index"] == 1
    assert reason in str(d.rejected[0]["reason"])


@pytest.mark.parametrize(("body", "status", "message"), [
    (b'{"site": "x", "events": [', 400, "malformed JSON"),
    (b"[1", 400, "malformed JSON"),
    (b'{"site": "x", "events": ["\xff"]}', 400, "not valid UTF-8"),
    (b'{"site": "x", "events": [{"event": "pageview", "url": "\xfe"}]}', 400, "not valid UTF-8"),
    (b'{"events": {"a": 1}}', 400, 'expected {"site": "...", "events": [...]}'),
    (_body([{"event": "pageview"}] * 501), 413, "501 events in one batch; the limit is 500"),
    (b" " * (1024 * 1024 + 1), 413, "the limit is 1048576"),
])
def test_whole_request_errors(body: bytes, status: int, message: str) -> None:
    with pytest.raises(BadRequest) as err:
        decode_batch(body)
    assert err.value.status == status and message in str(err.value)


def test_block_clamps_flags_and_fills_from_context() -> None:
    now = int(time.time() * 1000)
    eid = str(uuid.uuid4())
    d = decode_batch(_body([
        {"event": "pageview", "ts": now - 1000, "event_id": eid, "visitor_id": "v1"},
        {"event": "pageview", "ts": now + 3 * 86_400_000},  # far future: clamped
        {"event": "lead", "url": "https://a.example/?utm_source=nl&utm_medium=email&utm_campaign=x",
         "country": "fr", "props": {"plan": "pro"}},
    ]))
    block, refused = build_block(d.events, _ctx(now))
    assert block is not None and refused == []
    table = to_record_batch([block]).to_pylist()
    assert table[0]["event_id"] == uuid.UUID(eid) and table[0]["visitor_id"] == "v1"
    assert table[0]["ts"].timestamp() * 1000 == now - 1000 and table[0]["flags"] == 0
    assert table[1]["flags"] & FLAG_TS_CLAMPED and table[1]["ts"].timestamp() * 1000 == now
    assert table[1]["visitor_id"] == "c-cookieless"  # no id sent: the cookieless one
    assert (table[2]["utm_source"], table[2]["utm_medium"], table[2]["utm_campaign"]) == ("nl", "email", "x")
    assert table[2]["channel"] == "email" and table[2]["country"] == "FR" and table[0]["country"] == "DE"
    assert json.loads(table[2]["props"]) == {"plan": "pro"}
    assert len({r["event_id"] for r in table}) == 3 and all(r["org_id"] == "org" for r in table)


def test_cookieless_orgs_ignore_client_visitor_ids() -> None:
    d = decode_batch(_body([{"event": "pageview", "visitor_id": "spoofed"}]))
    block, _ = build_block(d.events, _ctx(trust=False))
    assert block is not None and to_record_batch([block]).to_pylist()[0]["visitor_id"] == "c-cookieless"


def test_oversized_props_are_refused_with_their_original_index() -> None:
    big = {"k": "x" * 9000}
    d = decode_batch(_body([{"event": "nope"}, {"event": "lead", "props": big}, {"event": "lead"}]))
    block, refused = build_block(d.events, _ctx())
    assert block is not None and block.n == 1
    assert refused == [(0, "props is 9008 bytes of JSON; the limit is 8192")]
    assert d.index is not None and d.index[refused[0][0]] == 1


def test_channels_treat_internal_referrers_as_direct() -> None:
    got = channels(
        ["https://www.google.com/", "https://a.example/prev", "https://blog.other.example/", "", ""],
        ["", "", "", "newsletter", ""], ["", "", "", "email", ""],
        ["https://a.example/x"] * 5,
    )
    assert got == ["search", "direct", "referral", "email", "direct"]


def test_pixel_query_and_block() -> None:
    f = parse_query(b"site=pub_x&event=lead&url=https%3A%2F%2Fa.example%2F%3Futm_source%3Dfacebook"
                    b"&magnet_id=m+1&value=12.5&junk=1")
    assert f == {"site": "pub_x", "event": "lead", "url": "https://a.example/?utm_source=facebook",
                 "magnet_id": "m 1", "value": "12.5"}
    f.pop("site")
    block = pixel_block(f, _ctx())
    assert not isinstance(block, str)
    row = to_record_batch([block]).to_pylist()[0]
    assert row["utm_source"] == "facebook" and row["channel"] == "social" and row["value"] == 12.5
    assert "unknown event type" in str(pixel_block({"event": "x"}, _ctx()))
    assert "limit is 64" in str(pixel_block({"magnet_id": "m" * 65}, _ctx()))
    assert "invalid query parameter" in str(pixel_block({"value": "abc"}, _ctx()))
    assert "finite" in str(pixel_block({"value": "inf"}, _ctx()))


def test_blocks_convert_like_rows() -> None:
    rows = [make_row(org_id=f"o{i % 2}", url=f"u{i}", ts=1_700_000_000_000 + i,
                     received_at=1_700_000_000_000, value=float(i)) for i in range(5)]
    got = to_record_batch([rows_to_block(rows[:2]), rows_to_block(rows[2:])])
    assert got.to_pylist() == rows_to_arrow(rows).to_pylist()
