"""PII detection: each kind found (and ordinary text left alone), redact / refuse / off,
findings counted by kind and never in the message, the collector's props screen."""

from __future__ import annotations

import pytest

from ingestion.intake import _screen_props
from ingestion.validate import LaxEvent
from kernel.pii import FINDINGS, PIIRefusedError, find, luhn_ok, org_policy, screen, screen_value

TEXT = ("Call +1 415 555 2671 or (415) 555-2671, mail ada@example.com, card "
        "4111 1111 1111 1111, SSN 123-45-6789, from 192.168.1.20 or 2001:db8::1, "
        "NINO AB 12 34 56 C.")


def test_every_kind_is_found_and_redacted() -> None:
    kinds = [f.kind for f in find(TEXT)]
    assert kinds == ["phone", "phone", "email", "card", "national_id", "ip", "ip", "national_id"]
    out = screen(TEXT, "redact", "test")
    for secret in ("415", "ada@", "4111", "6789", "192.168", "db8", "AB 12"):
        assert secret not in out
    assert out.startswith("Call [redacted:phone] or [redacted:phone], mail [redacted:email]")


@pytest.mark.parametrize("text", [
    "Order 12345678 shipped on 2024-05-01 for 129.99 USD",  # numbers, dates, prices
    "4111 1111 1111 1112",  # fails the Luhn check
    "version 1.2.3.4 of the app", "see https://example.com/a?b=1", "12:30 to 14:00",
    "the SEO checklist, 27 points", ""])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert screen(text, "redact", "test") == text


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and luhn_ok("79927398713")
    assert not luhn_ok("4111111111111112")


def test_refuse_names_kinds_not_values_and_counts() -> None:
    before = FINDINGS.labels("email", "test")._value.get()
    with pytest.raises(PIIRefusedError) as exc:
        screen("write to grace@example.com", "refuse", "test")
    assert "email" in str(exc.value) and "grace" not in str(exc.value)
    assert FINDINGS.labels("email", "test")._value.get() == before + 1
    assert screen("write to grace@example.com", "off", "test") == "write to grace@example.com"
    assert org_policy({"pii_policy": "refuse"}, "redact") == "refuse"
    assert org_policy({"pii_policy": "bogus"}, "redact") == "redact"


def test_nested_props_and_the_collector_screen() -> None:
    props = {"a": ["x", {"b": "mail ada@example.com"}], "n": 3, "ok": True}
    assert screen_value(props, "redact", "test") == {
        "a": ["x", {"b": "mail [redacted:email]"}], "n": 3, "ok": True}
    events = [LaxEvent(event="click", props={"note": "call +44 20 7946 0958"}),
              LaxEvent(event="click"), LaxEvent(event="click", props={"plan": "pro"})]
    kept, refused = _screen_props(list(events), "redact")
    assert refused == [] and kept[0].props == {"note": "call [redacted:phone]"}
    kept, refused = _screen_props([LaxEvent(event="click", props={"e": "a@b.example"}),
                                   LaxEvent(event="click")], "refuse")
    assert refused == [0] and len(kept) == 1
