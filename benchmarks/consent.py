"""Cost of honouring consent records on the collector's hot path: a 100-event browser batch
of a ``consent_required`` organization (each client visitor id looked up in the in-memory
consent state: 10k and 1M visitors in it) beside the anchor of the same batch for a ``first_party``
organization (no lookup), both through ``decode_batch`` + ``build_block``, in the same run;
and the per-batch registry lookups (PII policy, visitor filter).

    python benchmarks/consent.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Set as AbstractSet
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingestion.columns import RequestFacts, build_block  # noqa: E402
from ingestion.registry import Registry  # noqa: E402
from ingestion.validate import decode_batch  # noqa: E402

ORG, BATCHES, VISITORS = "org_bench", 2_000, 1_000_000


def _facts(keep: AbstractSet[str] | None, drop: AbstractSet[str] | None) -> RequestFacts:
    return RequestFacts(ORG, "site", int(time.time() * 1000), "Chrome", "Windows", "desktop",
                        "", 0, 86_400_000, True, lambda: "c" + "0" * 31, keep, drop)


def _per_batch_us(bodies: list[bytes], registry: Registry, mode: str) -> float:
    t0 = time.perf_counter()
    for body in bodies:
        events = decode_batch(body).events
        registry.pii_policy(ORG, "redact")
        build_block(events, _facts(*registry.visitor_filter(ORG, mode, server_side=False)))
    return (time.perf_counter() - t0) / len(bodies) * 1e6


def main() -> int:
    for visitors in (10_000, VISITORS):
        registry = Registry(None)  # type: ignore[arg-type]  # no database: filled here
        for i in range(visitors):
            registry.consent.note(ORG, f"v-{i:08d}", i % 3 != 0)
        bodies = [msgspec.json.encode({"site": "s", "events": [
            {"event": "pageview", "visitor_id": f"v-{(b * 100 + j) * 7 % (2 * visitors):08d}",
             "url": f"https://a.example/{j}"} for j in range(100)]}) for b in range(BATCHES)]
        _per_batch_us(bodies[:200], registry, "first_party")  # warm-up
        anchor = _per_batch_us(bodies, registry, "first_party")
        with_consent = _per_batch_us(bodies, registry, "consent_required")
        print(f"100-event batch, consent_required ({visitors:,} visitors in the state): "
              f"{with_consent:.0f} us (anchor: first_party, no lookup, {anchor:.0f} us; ratio "
              f"{with_consent / anchor:.2f}x; +{(with_consent - anchor) / 100:.2f} us/event)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
