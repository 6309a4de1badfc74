"""Webhook targets: every spelling of a private address is refused (issue #18, item 11).

Each hostile URL points at a local receiver (its port, some spelling of 127.0.0.1 or a name
that resolves to it). It must be refused at creation (the static check and the API's 422),
and a delivery attempt made anyway (a row written before the fix, or DNS that changed) must
fail without the receiver ever being reached and without the error naming what a name
resolved to.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.app_api.receiver import Receiver, running_receiver
from tests.app_api.world import World
from webhooks.sender import send
from webhooks.ssrf import UnsafeTargetError, check_static, resolve

SECRET = "whsec_" + "A" * 44


def _loopback_hostname() -> list[str]:
    """Names in /etc/hosts (or DNS) that resolve to loopback on this machine."""
    names = []
    for name in (socket.gethostname(), "runsc", "vm"):
        try:
            addrs = {i[4][0] for i in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
        except OSError:
            continue
        if addrs and all(a.startswith("127.") or a == "::1" for a in addrs):
            names.append(name)
    return sorted(set(names))


HOSTILE = [  # {port} is the receiver's port
    "http://127.0.0.1:{port}/", "http://2130706433:{port}/", "http://0x7f000001:{port}/",
    "http://0x7f.0x0.0x0.0x1:{port}/", "http://0177.0.0.1:{port}/", "http://0177.0.0.01:{port}/",
    "http://127.1:{port}/", "http://127.0.1:{port}/", "http://017700000001:{port}/",
    "http://127.000.000.001:{port}/", "http://0:{port}/", "http://0.0.0.0:{port}/",
    "http://127.0.0.1.:{port}/", "http://localhost:{port}/", "http://localhost.:{port}/",
    "http://LOCALHOST:{port}/", "http://LocalHost.:{port}/", "http://a.localhost:{port}/",
    "http://localhost.localdomain:{port}/", "http://ip6-localhost:{port}/",
    "http://printer.local:{port}/", "http://db.internal:{port}/",
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/",  # full-width digits
    "http://127\u30020\u30020\u30021:{port}/",  # ideographic full stops
    "http://127\uff0e0\uff0e0\uff0e1:{port}/",  # full-width full stops
    "http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3:{port}/",  # ⓛⓞⓒⓐⓛⓗⓞⓢⓣ
    "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54:{port}/",  # full-width
    "http://[::1]:{port}/", "http://[0:0:0:0:0:0:0:1]:{port}/", "http://[::]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/", "http://[::ffff:7f00:1]:{port}/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/", "http://[::127.0.0.1]:{port}/",
    "http://[::7f00:1]:{port}/", "http://[2002:7f00:1::1]:{port}/",  # 6to4 of 127.0.0.1
    "http://[2002:a00:1::1]:{port}/", "http://[2002:c0a8:101::1]:{port}/",  # 6to4 private
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/",  # Teredo, client 127.0.0.1
    "http://[64:ff9b::7f00:1]:{port}/", "http://[64:ff9b::127.0.0.1]:{port}/",  # NAT64
    "http://[64:ff9b::a00:1]:{port}/", "http://[64:ff9b:1::7f00:1]:{port}/",
    "http://[fe80::1]:{port}/", "http://[fe80::1%25lo]:{port}/", "http://[fc00::1]:{port}/",
    "http://[fd12:3456::1]:{port}/", "http://[ff02::1]:{port}/",
    "http://10.0.0.1:{port}/", "http://172.16.0.1:{port}/", "http://192.168.1.1:{port}/",
    "http://169.254.169.254:{port}/latest/meta-data", "http://100.64.0.1:{port}/",
    "http://198.18.0.1:{port}/", "http://224.0.0.1:{port}/", "http://255.255.255.255:{port}/",
    "http://240.0.0.1:{port}/", "http://192.0.0.1:{port}/",
    "http://%31%32%37.0.0.1:{port}/", "http://127.0.0.1%00.example.com:{port}/",
    "http://user:pw@example.com:{port}/", "http://example.com:{port}@127.0.0.1:{port}/",
    "http://1.1.1.1 &@127.0.0.1:{port}# @3.3.3.3/", "ftp://127.0.0.1:{port}/",
    "file:///etc/passwd", "gopher://127.0.0.1:{port}/", "http:///x", "http://:{port}/",
] + [f"http://{name}:{{port}}/" for name in _loopback_hostname()]

PUBLIC = ["https://hooks.example.com/x", "http://93.184.216.34/x", "http://8.8.8.8:8080/",
          "http://[2606:4700:4700::1111]/", "https://b\u00fccher.example/hook",
          "https://xn--bcher-kva.example/hook", "https://hooks.example.com./x",
          "http://[2002:5db8:d822::1]/"]  # 6to4 of a public address


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def test_the_list_is_long_enough() -> None:
    assert len(HOSTILE) >= 60


def test_every_hostile_form_is_refused_statically(receiver: Receiver) -> None:
    port = receiver.base_url.rsplit(":", 1)[1].strip("/")
    accepted = []
    for form in HOSTILE:
        url = form.format(port=port)
        try:
            check_static(url)
        except UnsafeTargetError:
            continue
        accepted.append(url)
    assert accepted == []


def test_public_targets_still_pass(receiver: Receiver) -> None:
    for url in PUBLIC:
        check_static(url)


def test_no_hostile_form_is_delivered_and_answers_stay_private(receiver: Receiver) -> None:
    port = receiver.base_url.rsplit(":", 1)[1].strip("/")
    with httpx.Client() as client:
        for form in HOSTILE:
            url = form.format(port=port)
            result = send(client, url, [SECRET], "msg_1", b"{}", timeout=2)
            assert not result.ok and result.status_code is None, (url, result)
            error = result.error or ""
            try:
                host = httpx.URL(url).host
            except httpx.InvalidURL:
                host = ""
            if host.replace(".", "").replace("-", "").isalpha():  # a name, not an address
                assert "127." not in error and "::1" not in error, (url, error)
    assert receiver.received == []


def test_resolution_errors_never_name_internal_answers(receiver: Receiver) -> None:
    for name in ["localhost", *_loopback_hostname()]:
        with pytest.raises(UnsafeTargetError) as info:
            resolve(f"http://{name}:9/x")
        assert "127.0.0.1" not in str(info.value) and "::1" not in str(info.value)


def test_the_api_refuses_every_hostile_form(module_client: TestClient,
                                            module_world: World) -> None:
    for form in HOSTILE:
        url = form.format(port=8080)
        r = module_client.post("/v1/webhook-endpoints", json={"url": url},
                               headers=module_world.a.key_auth())
        assert r.status_code == 422, (url, r.status_code, r.text)
        assert r.json()["error"]["code"] == "invalid"
