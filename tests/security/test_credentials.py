"""One authentication rule for the API and the collector's /v1/events (issue #18, item 7)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app_api.main import create_app
from kernel.credentials import presented_token
from tests.app_api.conftest import relaxed
from tests.ingestion.support import CHROME, setup_storage

FORMS = {  # headers built from the key -> whether a caller presenting them is accepted
    "Bearer": (lambda k: {"Authorization": f"Bearer {k}"}, True),
    "bearer": (lambda k: {"Authorization": f"bearer {k}"}, True),
    "BEARER": (lambda k: {"Authorization": f"BEARER {k}"}, True),
    "spaces": (lambda k: {"Authorization": f"  Bearer   {k}  "}, True),
    "x-api-key": (lambda k: {"X-API-Key": k}, True),
    "basic+x-api-key": (lambda k: {"Authorization": "Basic dXNlcjpwYXNz", "X-API-Key": k}, True),
    "token-scheme": (lambda k: {"Authorization": f"Token {k}"}, False),
    "bare": (lambda k: {"Authorization": k}, False),
    "wrong-key": (lambda k: {"Authorization": f"Bearer {k[:-4]}0000"}, False),
    "nothing": (lambda k: {}, False),
}


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    settings, org, _ = setup_storage(tmp_path_factory.mktemp("creds") / "data")
    app = create_app(relaxed(settings), with_collector=True)
    with TestClient(app, headers={"User-Agent": CHROME}) as http:
        yield http, org.api_key


@pytest.mark.parametrize("form", sorted(FORMS))
def test_api_and_collector_accept_the_same_credentials(both: tuple[TestClient, str],
                                                       form: str) -> None:
    http, key = both
    make, accepted = FORMS[form]
    api = http.get("/v1/sites", headers=make(key))
    events = http.post("/v1/events", json={"events": [{"event": "custom"}]}, headers=make(key))
    assert (api.status_code == 200) is accepted, (form, api.status_code, api.text)
    assert (events.status_code == 200) is accepted, (form, events.status_code, events.text)
    if not accepted:
        assert api.status_code == events.status_code == 401


def test_the_rule() -> None:
    assert presented_token("bEaReR abc", "") == "abc"
    assert presented_token("", " k ") == "k"
    assert presented_token("Bearer a", "b") == "a"
    assert presented_token("Basic a", "b") == "b"
    assert presented_token("Bearer", "") == ""

