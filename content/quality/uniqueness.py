"""Uniqueness: MinHash over word shingles against the organization's magnets and AI drafts.

A draft is compared with every other magnet of the organization (its current content) and
with the organization's most recent successful AI generations made for other magnets.
MinHash (datasketch, 128 permutations) estimates the Jaccard similarity of the 3-word
shingle sets cheaply for every candidate; candidates whose estimate comes near the threshold
are then measured exactly, so the number shown to the reviewer is the true Jaccard
similarity of the two texts' shingles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from datasketch import MinHash

from content.document import Document
from content.quality.result import CheckResult, OrgContext
from content.quality.text import document_text, full_text, words
from kernel.metadata.enums import GenerationStatus
from kernel.metadata.models import AIGeneration, LeadMagnet

SHINGLE_WORDS = 3
NUM_PERM = 128
#: Estimates this far below the threshold are still measured exactly (MinHash error ~0.04).
_MARGIN = 0.15
#: Pipeline steps whose answer is a whole document.
DOCUMENT_STEPS = ("generate", "optimize", "visualize", "personalize")


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[str]:
    """The set of k-word shingles of ``text`` (its words when shorter than k)."""
    tokens = words(text)
    if len(tokens) < k:
        return set(tokens)
    return {" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}


def minhash(shingle_set: set[str]) -> MinHash:
    """A MinHash signature of a shingle set (fixed seed: signatures are comparable)."""
    m = MinHash(num_perm=NUM_PERM, seed=1)
    m.update_batch([s.encode("utf-8") for s in shingle_set])
    return m


def jaccard(a: set[str], b: set[str]) -> float:
    """Exact Jaccard similarity of two sets (0 when both are empty)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class Candidate:
    kind: str  # "magnet" or "generation"
    id: str
    label: str
    text: str


def candidates(ctx: OrgContext) -> list[Candidate]:
    """Other magnets of the organization and its recent AI generations for other magnets."""
    session = ctx.session
    stmt = sa.select(LeadMagnet.id, LeadMagnet.name, LeadMagnet.type, LeadMagnet.content).where(
        LeadMagnet.org_id == ctx.org_id
    )
    if ctx.magnet_id:
        stmt = stmt.where(LeadMagnet.id != ctx.magnet_id)
    out = [
        Candidate("magnet", mid, name, document_text(content, str(mtype)))
        for mid, name, mtype, content in session.execute(stmt)
    ]
    limit = ctx.settings.quality_recent_generations
    if limit > 0:
        gen = (
            sa.select(AIGeneration.id, AIGeneration.magnet_id, AIGeneration.step, AIGeneration.response)
            .where(
                AIGeneration.org_id == ctx.org_id,
                AIGeneration.status == GenerationStatus.SUCCEEDED,
                AIGeneration.step.in_(DOCUMENT_STEPS),
                AIGeneration.magnet_id.is_not(None),
                AIGeneration.response.is_not(None),
            )
            .order_by(AIGeneration.created_at.desc(), AIGeneration.id.desc())
            .limit(limit)
        )
        if ctx.magnet_id:
            gen = gen.where(AIGeneration.magnet_id != ctx.magnet_id)
        for gid, magnet_id, step, response in session.execute(gen):
            out.append(Candidate("generation", gid, f"{step} for {magnet_id}", _answer_text(response)))
    return out


def _answer_text(response: str | None) -> str:
    if not response:
        return ""
    try:
        raw = json.loads(response)
    except ValueError:
        return response
    return document_text(raw, raw.get("type") if isinstance(raw, dict) else None)


def check_uniqueness(document: Document, ctx: OrgContext) -> CheckResult:
    """Highest similarity to another magnet or AI draft of the organization vs the threshold."""
    threshold = ctx.settings.quality_max_similarity
    mine = shingles(full_text(document))
    if not mine:
        return CheckResult("uniqueness", True, 0.0, threshold, "The document has no text to compare.")
    signature = minhash(mine)
    scored: list[dict[str, object]] = []
    for cand in candidates(ctx):
        theirs = shingles(cand.text)
        if not theirs:
            continue
        estimate = signature.jaccard(minhash(theirs))
        if estimate < threshold - _MARGIN:
            continue
        scored.append({
            "kind": cand.kind, "id": cand.id, "name": cand.label,
            "similarity": round(jaccard(mine, theirs), 4), "estimate": round(float(estimate), 4),
        })
    scored.sort(key=lambda d: float(d["similarity"]), reverse=True)  # type: ignore[arg-type]
    top = float(scored[0]["similarity"]) if scored else 0.0  # type: ignore[arg-type]
    if top > threshold:
        worst = scored[0]
        return CheckResult(
            "uniqueness", False, top, threshold,
            f"{top:.0%} of its 3-word phrases are shared with {worst['kind']} {worst['name']!r} "
            f"({worst['id']}); the limit is {threshold:.0%}. Rewrite the overlapping parts.",
            [d for d in scored if float(d["similarity"]) > threshold][:10],  # type: ignore[arg-type]
        )
    return CheckResult(
        "uniqueness", True, top, threshold,
        f"Highest overlap with another magnet or draft: {top:.0%} (limit {threshold:.0%}).",
        scored[:5],
    )
