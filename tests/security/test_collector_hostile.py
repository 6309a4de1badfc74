"""The collector never answers 5xx to hostile input (issue #18, items 7 and 9)."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator

import pytest

from ingestion.json_depth import MAX_JSON_DEPTH
from tests.security.collector import CollectorWorld, collector_client


@pytest.fixture(scope="module")
def cw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorWorld]:
    with collector_client(tmp_path_factory.mktemp("hostile") / "data") as world:
        yield world


def _post(cw: CollectorWorld, path: str, body: bytes) -> tuple[int, dict[str, object]]:
    headers = {"content-type": "application/json"}
    if path == "/v1/events":
        headers["authorization"] = f"Bearer {cw.org.api_key}"
    r = cw.http.post(path, content=body, headers=headers)
    return r.status_code, r.json()


def _batch(site: str, props: str) -> bytes:
    return ('{"site":"' + site + '","events":[{"event":"custom","props":' + props + "}]}").encode()


@pytest.mark.parametrize("path", ["/e", "/v1/events"])
@pytest.mark.parametrize("shape", ["props_lists", "props_objects", "top_level", "just_over"])
def test_deep_nesting_is_a_400_naming_the_limit(cw: CollectorWorld, path: str,
                                                shape: str) -> None:
    site = cw.org.site_key
    if shape == "props_lists":  # 5,000 levels in 10 KB of props
        body = _batch(site, '{"a":' + "[" * 5000 + "]" * 5000 + "}")
    elif shape == "props_objects":  # 3,000 nested objects
        body = _batch(site, "{\"a\":" * 3000 + "1"
                      + "}" * 3000)
    elif shape == "top_level":
        body = b'{"site":"x","events":' + b"[" * 5000 + b"]" * 5000 + b"}"
    else:  # one level past the limit, well below the interpreter's recursion limit
        body = _batch(site, '{"a":' * (MAX_JSON_DEPTH) + "1" + "}" * (MAX_JSON_DEPTH))
    status, answer = _post(cw, path, body)
    assert status == 400, (status, answer)
    message = answer["error"]["message"]  # type: ignore[index]
    assert "nested" in message and str(MAX_JSON_DEPTH) in message, message


@pytest.mark.parametrize("path", ["/e", "/v1/events"])
def test_nesting_within_the_limit_is_accepted(cw: CollectorWorld, path: str) -> None:
    depth = MAX_JSON_DEPTH - 4  # the envelope, the events list and the event use 3 levels
    status, answer = _post(cw, path, _batch(cw.org.site_key, '{"a":' * depth + "1" + "}" * depth))
    assert status == 200 and answer["accepted"] == 1, answer


@pytest.mark.parametrize("name", ["v" + "9" * 5000 + ".js", "v" + "9" * 40 + ".js",
                                  "v-1.js", "v1.jsx", "v\u0661.js"])
def test_snippet_versions_out_of_range_are_404(cw: CollectorWorld, name: str) -> None:
    r = cw.http.get(f"/s/{name}")
    assert r.status_code == 404, r.status_code


def _mutations(rng: random.Random, site: str) -> Iterator[bytes]:
    """msgspec-invalid and hostile batches: wrong types, bad UTF-8, surrogates, junk."""
    ev = {"event": "pageview", "event_id": str(uuid.UUID(int=rng.getrandbits(128)))}
    base = json.dumps({"site": site, "events": [ev]}).encode()
    yield b""
    yield b"null"
    yield b"[]"
    yield b'{"site":1,"events":{}}'
    yield b'{"site":"' + site.encode() + b'","events":[1,"x",null,[],{}]}'
    yield b'{"site":"' + site.encode() + b'","events":[{"event":"pageview","value":1e999}]}'
    yield b'{"site":"' + site.encode() + b'","events":[{"event":"pageview","ts":"now"}]}'
    yield b'{"site":"' + site.encode() + b'","events":[{"event":"\\ud800"}]}'
    yield b'{"site":"' + site.encode() + b'","events":[{"event":"pageview","url":"\\udfff"}]}'
    yield b'{"site":"' + site.encode() + b'","events":[{"event":"pageview","props":{"\\ud800":1}}]}'
    yield b'{"site":"\\ud800","events":[]}'
    yield b'{"site":"' + site.encode() + b'","events":[{"event":"pageview","url":"\xed\xa0\x80"}]}'
    yield b'{"site":"' + site.encode() + b'","events":[{"event":"pageview","event_id":"\xff"}]}'
    yield b'{"site":"' + site.encode() + b'","events":[' + b'{"event":"pageview"},' * 600 + b"{}]}"
    yield b'{"site":"' + site.encode() + b'","events":[{"event":"pageview","value":' + b"9" * 5000 + b"}]}"
    yield b'{"site":"' + site.encode() + b'","events":[{"event":"pageview","props":{"a":' + b"9" * 5000 + b"}}]}"
    for _ in range(150):
        data = bytearray(base)
        for _ in range(rng.randint(1, 6)):
            op = rng.randrange(4)
            pos = rng.randrange(len(data) + 1)
            if op == 0 and data:
                del data[min(pos, len(data) - 1)]
            elif op == 1:
                data[pos:pos] = bytes([rng.randrange(256)])
            elif op == 2:
                data[pos:pos] = rng.choice([b"[", b"{", b'"', b"\\", b"\\u", b"\\ud800", b"-",
                                            b"e99999", b"\x00", b"\xc3", b"]" * 40])
            else:
                data[pos:pos] = b"[" * rng.randint(1, 3000)
        yield bytes(data)


@pytest.mark.parametrize("path", ["/e", "/v1/events"])
def test_collector_fuzz_has_no_5xx(cw: CollectorWorld, path: str) -> None:
    rng = random.Random(18)
    for body in _mutations(rng, cw.org.site_key):
        status, answer = _post(cw, path, body)
        assert status < 500, (body[:120], status, answer)
        assert "error" in answer or "accepted" in answer

