"""Helpers to read the publishing pages in tests."""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient


def attr(page: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else ""


def form_token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return html.unescape(found.group(1))


def visit(client: TestClient, path: str) -> tuple[str, str, str]:
    """(html, visitor id, variant) of a landing page visit."""
    r = client.get(path)
    assert r.status_code == 200, r.text[:500]
    return r.text, client.cookies.get("ls_vid") or "", attr(r.text, "data-ls-variant")


def post(client: TestClient, path: str, token: str, *, json: bool = False,
         **fields: Any) -> Any:
    data = {"token": token, **fields}
    headers = {"Accept": "application/json"} if json else {}
    return client.post(path, data=data, headers=headers, follow_redirects=False)


def text_part(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_part(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def link(text: str, prefix: str) -> str:
    found = re.search(rf"https?://[^\s\"<>]+{re.escape(prefix)}[A-Za-z0-9._-]+", text)
    assert found, f"no {prefix} link in {text[:300]!r}"
    return found.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]
