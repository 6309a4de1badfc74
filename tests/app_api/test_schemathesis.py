"""Property-based requests from the OpenAPI schema (schemathesis): no input gives a 5xx.

Schemathesis' Python API drives Hypothesis over every operation of the live schema, with
valid (positive) and invalid (negative) inputs, against the ASGI app on SQLite and on
PostgreSQL (the stricter one: NUL bytes, integer ranges). Bounded: a few derandomized
examples per operation and mode, so a failure reproduces and the run stays short.

A third mode makes the valid cases hostile in the two ways schemathesis' UTF-8 alphabet
never generates (issue #18, 9): a lone surrogate escaped in the JSON body (``"\\ud800"``)
and a value nested 3,000 levels deep. Both must be a 4xx naming the problem.
"""

from __future__ import annotations

import json

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.app_api.world import World

MAX_EXAMPLES = 3
LONE = "\ud800"
DEPTH = 200  # beyond the API's limit of 64 levels; json.dumps itself stops near 1,000


def _deep(depth: int) -> object:
    value: object = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _hostile(case, how: int) -> bytes | None:  # type: ignore[no-untyped-def]
    """The case's JSON body with a lone surrogate (how 0) or deep nesting (how 1), or None."""
    value = _deep(DEPTH) if how else f"a{LONE}b"
    if isinstance(case.body, dict) and case.body:
        strings = [k for k, v in sorted(case.body.items()) if isinstance(v, str)]
        body: object = {**case.body, (strings or sorted(case.body))[0]: value}
    elif isinstance(case.body, list):
        body = [value, *case.body]
    else:
        return None
    return json.dumps(body).encode()  # ASCII: the surrogate travels as the escape "\\ud800"


def _check(case, world: World, failures: list[str],  # type: ignore[no-untyped-def]
           client: TestClient, hostile: bytes | None = None) -> None:
    # Put real ids into some paths so generated bodies also reach the handlers.
    for name in list(case.path_parameters or {}):
        if name in world.a.ids and len(str(case.body)) % 2 == 0:
            case.path_parameters[name] = world.a.ids[name]
    where = f"{case.method} {case.formatted_path}"
    if hostile is None:
        response = case.call(headers=world.a.auth("owner"))
    else:  # sent as bytes: schemathesis would encode the surrogate itself, and fail
        response = client.request(case.method, case.formatted_path, params=case.query,
                                  content=hostile, headers={**world.a.auth("owner"),
                                                            "content-type": "application/json"})
    if response.status_code >= 500:
        failures.append(f"{where} -> {response.status_code}: {response.text[:300]} "
                        f"(body={str(case.body)[:200]!r}, query={case.query!r})")
    elif hostile is not None and response.status_code not in (400, 404, 409):
        # 400 naming the problem; 404/409 when the path's resource is refused first
        failures.append(f"{where}: a hostile body answered {response.status_code}: "
                        f"{response.text[:200]}")
    if 400 <= response.status_code < 500 and "json" in response.headers.get("content-type", ""):
        if set(response.json()) != {"error"}:
            failures.append(f"{where}: error body is not the standard shape: {response.text}")


def test_no_generated_request_causes_a_server_error(module_client: TestClient,
                                                    module_world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", module_client.app)
    failures: list[str] = []
    operations = 0
    hostile_sent: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        if operation.path == "/v1/auth/login" or operation.path == "/v1/auth/token":
            continue  # throttled by design; covered in test_auth.py
        operations += 1

        positive = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
        hostile = st.tuples(positive, st.integers(0, 1)).map(lambda c: (c[0], _hostile(*c)))
        plans = [(st.one_of(positive.map(lambda c: (c, None)), negative.map(lambda c: (c, None))),
                  MAX_EXAMPLES)]
        if len(operation.body):  # takes a body: two hostile variants of valid bodies
            plans.append((hostile, 2))
        for strategy, examples in plans:

            @given(case=strategy)
            @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case) -> None:  # type: ignore[no-untyped-def]
                _check(case[0], module_world, failures, module_client, case[1])
                if case[1] is not None:
                    hostile_sent.append(case[0].operation.path)

            try:
                run()
            except Exception as exc:  # generation problems are reported, not 5xx
                if "Unsatisfiable" not in type(exc).__name__:
                    failures.append(f"{operation.method.upper()} {operation.path}: {exc!r}"[:400])
    assert operations > 60  # the whole schema was exercised
    assert len(set(hostile_sent)) >= 30, sorted(set(hostile_sent))  # bodies were made hostile
    assert not failures, "\n".join(failures[:30])
