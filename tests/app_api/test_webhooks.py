"""Signed webhooks: Standard Webhooks signatures, outbox fan-out, retries, disabling, SSRF.

Deliveries go to a real HTTP server on 127.0.0.1 (allowed with
webhooks_allow_private); signatures are checked with the independent
``standardwebhooks`` package and the spec's test vector.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from content.document import make_brief
from content.offline import generate
from kernel.metadata.enums import DeliveryStatus
from kernel.metadata.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from kernel.metadata.types import utcnow
from kernel.settings import Settings
from tests.app_api.conftest import app_for
from tests.app_api.receiver import Receiver, running_receiver
from tests.app_api.world import Org, make_org
from tests.helpers import make_settings, wait_for
from webhooks import dispatch
from webhooks.sender import send
from webhooks.signing import sign
from webhooks.ssrf import UnsafeTargetError, check_static, resolve
from webhooks.worker import deliver_due as deliver_any
from webhooks.worker import prune


def deliver_due(*args: Any, **kwargs: Any) -> Any:
    """A delivery pass that may reach the local receiver (webhooks_allow_private)."""
    return deliver_any(*args, allow_private=True, **kwargs)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture
def wh(settings: Settings, fresh_url: str) -> Iterator[TestClient]:
    """An API on an empty database of its own (deliver_due sees only this test's rows)."""
    with TestClient(app_for(make_settings(settings.data_path, metadata_url=fresh_url,
                                          webhooks_allow_private=True))) as c:
        yield c


def _org(client: TestClient) -> Org:
    org = make_org(client.app.state.lodestone, "hooks", password_for_owner=False)  # type: ignore[attr-defined]
    with client.app.state.lodestone.sessions() as s:  # type: ignore[attr-defined]
        s.execute(sa.delete(WebhookEndpoint).where(WebhookEndpoint.org_id == org.id))
        s.commit()
    return org


def _endpoint(client: TestClient, org: Org, url: str, **extra: object) -> dict[str, str]:
    r = client.post("/v1/webhook-endpoints", headers=org.auth(), json={"url": url, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def _publish(client: TestClient, org: Org) -> str:
    mid = org.ids["magnet_id"]
    # a document that passes the quality gate in front of submit and publish
    document = generate(make_brief("ebook", "webhook delivery for growth teams", "saas"))
    r = client.patch(f"/v1/magnets/{mid}", headers=org.auth("editor"),
                     json={"content": document.model_dump(mode="json")})
    assert r.status_code == 200, r.text
    for action, role in (("submit", "editor"), ("approve", "admin"), ("publish", "editor")):
        assert client.post(f"/v1/magnets/{mid}/{action}", headers=org.auth(role)).status_code == 200
    return mid


def _deliveries(client: TestClient, endpoint_id: str) -> list[WebhookDelivery]:
    with client.app.state.lodestone.sessions() as s:  # type: ignore[attr-defined]
        return list(s.scalars(sa.select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.attempt)))


def test_signature_matches_the_spec_test_vector() -> None:
    assert sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330, b'{"test": 2432232314}') == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_published_magnet_reaches_the_receiver_signed(wh: TestClient, receiver: Receiver) -> None:
    org = _org(wh)
    endpoint = _endpoint(wh, org, receiver.url("/hook"), event_types=["magnet.published"])
    mid = _publish(wh, org)
    result = deliver_due(wh.app.state.lodestone.sessions)  # type: ignore[attr-defined]
    assert (result.dispatched, result.succeeded, result.failed) == (2, 1, 0)  # approved: not subscribed
    [got] = receiver.at("/hook")
    payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "magnet.published" and payload["data"]["magnet"]["id"] == mid
    assert payload["data"]["magnet"]["status"] == "published"
    assert got.headers["webhook-id"] == payload["id"] and got.headers["webhook-id"].startswith("evt_")
    assert got.headers["content-type"] == "application/json"
    [delivery] = _deliveries(wh, endpoint["id"])
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.response_status == 200
    listed = wh.get("/v1/webhook-deliveries", headers=org.auth(),
                    params={"endpoint_id": endpoint["id"]}).json()["data"]
    assert listed[0]["event_type"] == "magnet.published" and listed[0]["status"] == "succeeded"
    # Nothing left to do.
    again = deliver_due(wh.app.state.lodestone.sessions)  # type: ignore[attr-defined]
    assert again.succeeded == again.failed == 0


def test_retry_schedule_with_jitter_then_give_up(wh: TestClient, receiver: Receiver) -> None:
    org = _org(wh)
    receiver.script["/down"] = [503]
    endpoint = _endpoint(wh, org, receiver.url("/down"))
    wh.post(f"/v1/webhook-endpoints/{endpoint['id']}/test", headers=org.auth())
    sessions = wh.app.state.lodestone.sessions  # type: ignore[attr-defined]
    rng = random.Random(7)
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    delays = []
    for attempt in range(1, len(dispatch.RETRY_SCHEDULE_S) + 1):
        result = deliver_due(sessions, now, rng=rng)
        assert result.failed == 1, attempt
        deliveries = _deliveries(wh, endpoint["id"])
        assert len(deliveries) == attempt + (attempt < len(dispatch.RETRY_SCHEDULE_S))
        if attempt < len(dispatch.RETRY_SCHEDULE_S):
            pending = deliveries[-1]
            assert pending.status == DeliveryStatus.PENDING and pending.attempt == attempt + 1
            assert pending.next_attempt_at is not None
            delay = (pending.next_attempt_at - now).total_seconds()
            delays.append(delay)
            # Not due a moment early.
            early = deliver_due(sessions, pending.next_attempt_at - dt.timedelta(seconds=1))
            assert early.failed == early.succeeded == 0
            now = pending.next_attempt_at
    for delay, base in zip(delays, dispatch.RETRY_SCHEDULE_S[1:], strict=True):
        assert base * (1 - dispatch.JITTER) <= delay <= base * (1 + dispatch.JITTER)
    assert len(set(round(d / b, 4) for d, b in zip(delays, dispatch.RETRY_SCHEDULE_S[1:],
                                                   strict=True))) > 1  # jitter varies
    deliveries = _deliveries(wh, endpoint["id"])
    assert [d.status for d in deliveries] == [DeliveryStatus.FAILED] * 7 + [DeliveryStatus.GAVE_UP]
    assert all(d.response_status == 503 for d in deliveries)
    assert len(receiver.at("/down")) == 8
    # The same message id on every attempt, so receivers can de-duplicate.
    assert len({r.headers["webhook-id"] for r in receiver.at("/down")}) == 1
    assert deliver_due(sessions, now + dt.timedelta(days=2)).failed == 0


def test_redirects_fail_and_410_disables(wh: TestClient, receiver: Receiver) -> None:
    org = _org(wh)
    receiver.script["/moved"] = [302]
    receiver.script["/gone"] = [410]
    moved = _endpoint(wh, org, receiver.url("/moved"))
    gone = _endpoint(wh, org, receiver.url("/gone"))
    _publish(wh, org)
    deliver_due(wh.app.state.lodestone.sessions)  # type: ignore[attr-defined]
    assert receiver.at("/redirected") == []  # redirects are not followed
    first = _deliveries(wh, moved["id"])[0]
    assert first.status == DeliveryStatus.FAILED and first.response_status == 302
    assert "redirect" in (first.error or "")
    assert {d.status for d in _deliveries(wh, gone["id"])} == {DeliveryStatus.GAVE_UP}
    state = wh.get(f"/v1/webhook-endpoints/{gone['id']}", headers=org.auth()).json()
    assert state["is_active"] is False and state["disabled_at"]
    audit = wh.get("/v1/audit-log", headers=org.auth(), params={
        "action": "webhook_endpoint.disabled"}).json()["data"]
    assert audit and audit[0]["actor_type"] == "system" and "410" in audit[0]["after"]["reason"]
    # Redelivery to a disabled endpoint is refused until it is re-enabled.
    delivery_id = _deliveries(wh, gone["id"])[0].id
    r = wh.post(f"/v1/webhook-deliveries/{delivery_id}/redeliver", headers=org.auth())
    assert r.status_code == 409 and "re-enable" in r.json()["error"]["message"]


def test_endpoint_failing_for_five_days_is_disabled(wh: TestClient, receiver: Receiver) -> None:
    org = _org(wh)
    receiver.script["/broken"] = [500]
    endpoint = _endpoint(wh, org, receiver.url("/broken"))
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    with wh.app.state.lodestone.sessions() as s:  # type: ignore[attr-defined]
        row = s.get(WebhookEndpoint, endpoint["id"])
        row.failing_since = now - dispatch.DISABLE_AFTER - dt.timedelta(minutes=1)
        s.commit()
    wh.post(f"/v1/webhook-endpoints/{endpoint['id']}/test", headers=org.auth())
    deliver_due(wh.app.state.lodestone.sessions, now)  # type: ignore[attr-defined]
    [delivery] = _deliveries(wh, endpoint["id"])
    assert delivery.status == DeliveryStatus.GAVE_UP
    r = wh.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=org.auth()).json()
    assert r["is_active"] is False
    # Re-enabling clears the failure clock; a success keeps it clear.
    r = wh.patch(f"/v1/webhook-endpoints/{endpoint['id']}", headers=org.auth(),
                 json={"is_active": True})
    assert r.json()["is_active"] and r.json()["failing_since"] is None


def test_rotation_signs_with_both_secrets_and_redelivery(wh: TestClient,
                                                         receiver: Receiver) -> None:
    org = _org(wh)
    endpoint = _endpoint(wh, org, receiver.url("/rot"))
    old = endpoint["secret"]
    r = wh.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=org.auth(),
                json={"grace_hours": 2})
    new = r.json()["secret"]
    assert new != old and new.startswith("whsec_") and r.json()["previous_secret_expires_at"]
    assert wh.get(f"/v1/webhook-endpoints/{endpoint['id']}/secret",
                  headers=org.auth()).json()["secret"] == new
    test = wh.post(f"/v1/webhook-endpoints/{endpoint['id']}/test", headers=org.auth()).json()
    deliver_due(wh.app.state.lodestone.sessions)  # type: ignore[attr-defined]
    [got] = receiver.at("/rot")
    assert len(got.headers["webhook-signature"].split()) == 2
    for secret in (old, new):  # a receiver on either secret accepts it
        assert Webhook(secret).verify(got.body, got.headers)["type"] == "webhook.test"
    with pytest.raises(Exception):  # noqa: B017 - any verification error
        Webhook("whsec_" + "A" * 44).verify(got.body, got.headers)
    # Manual redelivery: same event, same webhook-id, next attempt number.
    r = wh.post(f"/v1/webhook-deliveries/{test['delivery_id']}/redeliver", headers=org.auth())
    assert r.status_code == 202 and r.json()["attempt"] == 2
    deliver_due(wh.app.state.lodestone.sessions)  # type: ignore[attr-defined]
    first, second = receiver.at("/rot")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == test["event_id"]
    assert json.loads(second.body)["data"]["endpoint_id"] == endpoint["id"]


def test_ssrf_guard_refuses_private_targets(wh: TestClient, receiver: Receiver) -> None:
    org = _org(wh)
    endpoint = _endpoint(wh, org, receiver.url("/private"))  # allowed while the flag is on
    state = wh.app.state.lodestone  # type: ignore[attr-defined]
    state.settings = state.settings.model_copy(update={"webhooks_allow_private": False})
    for url in ("http://127.0.0.1/x", "http://10.1.2.3/x", "http://169.254.169.254/latest",
                "http://[::1]/x", "http://[::ffff:127.0.0.1]/x", "http://localhost:8000/x",
                "ftp://example.com/x", "http://user:pw@example.com/x"):
        with pytest.raises(UnsafeTargetError):
            check_static(url)
        r = wh.post("/v1/webhook-endpoints", headers=org.auth(), json={"url": url})
        assert r.status_code == 422, url
    with pytest.raises(UnsafeTargetError, match="non-public"):
        resolve("http://localhost:9/x")  # names are resolved and every address checked
    check_static("https://hooks.example.com/x")  # public names pass the static check
    # At delivery time the resolved address is checked again: nothing reaches 127.0.0.1.
    _publish(wh, org)
    deliver_any(state.sessions)
    assert receiver.at("/private") == []
    delivery = _deliveries(wh, endpoint["id"])[0]
    assert delivery.status == DeliveryStatus.FAILED and "non-public" in (delivery.error or "")


def test_timeout_is_a_failure(receiver: Receiver) -> None:
    receiver.delay_s["/slow"] = 1.5
    with httpx.Client() as client:
        result = send(client, receiver.url("/slow"), ["whsec_" + "A" * 44], "evt_1", b"{}",
                      timeout=0.3, allow_private=True)
    assert not result.ok and "timed out" in (result.error or "")


def test_concurrent_workers_send_each_delivery_once(wh: TestClient, receiver: Receiver) -> None:
    org = _org(wh)
    receiver.delay_s["/once"] = 0.2
    _endpoint(wh, org, receiver.url("/once"))
    for _ in range(3):
        wh.post("/v1/leads", headers=org.key_auth(), json={
            "magnet_id": org.ids["magnet_id"], "email": f"{random.random()}@example.com"})
    sessions = wh.app.state.lodestone.sessions  # type: ignore[attr-defined]
    threads = [threading.Thread(target=deliver_due, args=(sessions,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deliver_due(sessions)
    ids = [r.headers["webhook-id"] for r in receiver.at("/once")]
    assert len(ids) == 3 and len(set(ids)) == 3


def test_background_worker_in_the_app_delivers_right_away(
        settings: Settings, fresh_url: str, receiver: Receiver) -> None:
    app = app_for(make_settings(settings.data_path, metadata_url=fresh_url,
                                webhooks_allow_private=True), webhooks_worker=True)
    with TestClient(app) as client:
        org = _org(client)
        endpoint = _endpoint(client, org, receiver.url("/live"))
        client.post(f"/v1/experiments/{org.ids['experiment_id']}/start", headers=org.auth())
        assert wait_for(lambda: receiver.at("/live"), timeout=15)
        got = receiver.at("/live")[0]
        assert Webhook(endpoint["secret"]).verify(got.body, got.headers)["type"] == \
            "experiment.started"


def test_prune_deletes_finished_events_past_retention_and_keeps_pending_ones(
        wh: TestClient, receiver: Receiver) -> None:
    org = _org(wh)
    receiver.script["/down"] = [503]
    ok, down = _endpoint(wh, org, receiver.url("/ok")), _endpoint(wh, org, receiver.url("/down"))
    for e in (ok, down):
        assert wh.post(f"/v1/webhook-endpoints/{e['id']}/test", headers=org.auth()).status_code < 300
    sessions = wh.app.state.lodestone.sessions  # type: ignore[attr-defined]
    result = deliver_due(sessions)
    assert (result.succeeded, result.failed) == (1, 1)  # /down now waits for its retry

    def events() -> set[str]:
        with sessions() as s:
            return set(s.scalars(sa.select(OutboxEvent.id)))

    ok_event = _deliveries(wh, ok["id"])[0].outbox_event_id
    down_event = _deliveries(wh, down["id"])[0].outbox_event_id
    before = events()
    keep, now = dt.timedelta(days=30), utcnow()
    assert prune(sessions, now + dt.timedelta(days=29), keep) == 0  # not old enough
    gone = prune(sessions, now + dt.timedelta(days=31), keep)
    after = events()
    assert gone == len(before - after) >= 1
    assert ok_event not in after and down_event in after  # a retry is still pending
    assert _deliveries(wh, ok["id"]) == []
    assert [d.status for d in _deliveries(wh, down["id"])] == [DeliveryStatus.FAILED,
                                                               DeliveryStatus.PENDING]
    listed = wh.get("/v1/webhook-deliveries", headers=org.auth(),
                    params={"endpoint_id": ok["id"]}).json()["data"]
    assert listed == []
