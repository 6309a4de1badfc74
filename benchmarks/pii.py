"""Cost per event of the PII screen on event props (kernel.pii, called by the collector for
events that carry props), beside the anchor of decoding the same props from JSON with msgspec
(what the collector already pays for them), in the same run.

    python benchmarks/pii.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernel.pii import screen_value  # noqa: E402

N = 20_000


def _props(rng: random.Random, dirty: float) -> dict[str, object]:
    props: dict[str, object] = {"plan": rng.choice(["free", "pro", "team"]),
                                "path": f"/blog/post-{rng.randint(1, 500)}",
                                "price": rng.randint(5, 500), "q": "seo checklist 2024"}
    if rng.random() < dirty:
        props["note"] = rng.choice(["call me +1 415 555 2671", "mail ada@example.com",
                                    "card 4111 1111 1111 1111"])
    return props


def _per_event_us(items: list[dict[str, object]], policy: str) -> float:
    t0 = time.perf_counter()
    for props in items:
        screen_value(props, policy, "event")
    return (time.perf_counter() - t0) / len(items) * 1e6


def main() -> int:
    rng = random.Random(7)
    clean = [_props(rng, 0.0) for _ in range(N)]
    mixed = [_props(rng, 0.05) for _ in range(N)]
    encoded = [msgspec.json.encode(p) for p in clean]
    decoder = msgspec.json.Decoder()
    t0 = time.perf_counter()
    for raw in encoded:
        decoder.decode(raw)
    anchor = (time.perf_counter() - t0) / N * 1e6
    _per_event_us(clean[:500], "redact")  # warm-up (phonenumbers loads on first need)
    _per_event_us(mixed[:500], "redact")
    clean_us, mixed_us = _per_event_us(clean, "redact"), _per_event_us(mixed, "redact")
    print(f"pii screen, props without personal data: {clean_us:.2f} us/event "
          f"(anchor: msgspec decode of the same props {anchor:.2f} us; ratio {clean_us / anchor:.1f}x)")
    print(f"pii screen, 5% of events with a phone/email/card: {mixed_us:.2f} us/event "
          f"(ratio {mixed_us / anchor:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
