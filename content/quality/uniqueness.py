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
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import Any

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


def jaccard(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
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


@dataclass(frozen=True)
class Signature:
    kind: str
    id: str
    label: str
    shingles: frozenset[str]
    minhash: MinHash


#: (kind, id, version) -> (shingles, MinHash). A long-running worker checks the same
#: organization's magnets again and again; a magnet's version is its ``updated_at``, an AI
#: generation never changes. Bounded LRU.
_CACHE: OrderedDict[tuple[str, str, str], tuple[frozenset[str], MinHash]] = OrderedDict()
_CACHE_LOCK = Lock()
_CACHE_SIZE = 20_000


def _magnet_filter(ctx: OrgContext) -> list[Any]:
    where = [LeadMagnet.org_id == ctx.org_id]
    if ctx.magnet_id:
        where.append(LeadMagnet.id != ctx.magnet_id)
    return where


def _generation_query(ctx: OrgContext, *columns: Any) -> sa.Select[Any]:
    stmt = (
        sa.select(*columns)
        .where(
            AIGeneration.org_id == ctx.org_id,
            AIGeneration.status == GenerationStatus.SUCCEEDED,
            AIGeneration.step.in_(DOCUMENT_STEPS),
            AIGeneration.magnet_id.is_not(None),
            AIGeneration.response.is_not(None),
        )
        .order_by(AIGeneration.created_at.desc(), AIGeneration.id.desc())
        .limit(ctx.settings.quality_recent_generations)
    )
    if ctx.magnet_id:
        stmt = stmt.where(AIGeneration.magnet_id != ctx.magnet_id)
    return stmt


def candidates(ctx: OrgContext) -> list[Candidate]:
    """Other magnets of the organization and its recent AI generations for other magnets."""
    stmt = sa.select(LeadMagnet.id, LeadMagnet.name, LeadMagnet.type, LeadMagnet.content).where(
        *_magnet_filter(ctx))
    out = [Candidate("magnet", mid, name, document_text(content, str(mtype)))
           for mid, name, mtype, content in ctx.session.execute(stmt)]
    if ctx.settings.quality_recent_generations > 0:
        gen = _generation_query(ctx, AIGeneration.id, AIGeneration.magnet_id, AIGeneration.step,
                                AIGeneration.response)
        for gid, magnet_id, step, response in ctx.session.execute(gen):
            out.append(Candidate("generation", gid, f"{step} for {magnet_id}", _answer_text(response)))
    return out


def signatures(ctx: OrgContext) -> list[Signature]:
    """Shingles and MinHash of every candidate, computed once per version (cached)."""
    session = ctx.session
    wanted: list[tuple[tuple[str, str, str], str]] = []
    for mid, name, updated in session.execute(
            sa.select(LeadMagnet.id, LeadMagnet.name, LeadMagnet.updated_at).where(*_magnet_filter(ctx))):
        wanted.append((("magnet", mid, updated.isoformat()), name))
    if ctx.settings.quality_recent_generations > 0:
        for gid, magnet_id, step in session.execute(
                _generation_query(ctx, AIGeneration.id, AIGeneration.magnet_id, AIGeneration.step)):
            wanted.append((("generation", gid, ""), f"{step} for {magnet_id}"))
    with _CACHE_LOCK:
        missing = [key for key, _ in wanted if key not in _CACHE]
    texts: dict[tuple[str, str, str], str] = {}
    magnet_ids = [k[1] for k in missing if k[0] == "magnet"]
    for chunk in (magnet_ids[i : i + 500] for i in range(0, len(magnet_ids), 500)):
        for mid, mtype, content, updated in session.execute(
                sa.select(LeadMagnet.id, LeadMagnet.type, LeadMagnet.content, LeadMagnet.updated_at)
                .where(LeadMagnet.org_id == ctx.org_id, LeadMagnet.id.in_(chunk))):
            texts[("magnet", mid, updated.isoformat())] = document_text(content, str(mtype))
    gen_ids = [k[1] for k in missing if k[0] == "generation"]
    for chunk in (gen_ids[i : i + 500] for i in range(0, len(gen_ids), 500)):
        for gid, response in session.execute(
                sa.select(AIGeneration.id, AIGeneration.response)
                .where(AIGeneration.org_id == ctx.org_id, AIGeneration.id.in_(chunk))):
            texts[("generation", gid, "")] = _answer_text(response)
    computed = {}
    for key, text in texts.items():
        sh = frozenset(shingles(text))
        computed[key] = (sh, minhash(set(sh)))
    out: list[Signature] = []
    with _CACHE_LOCK:
        for key, value in computed.items():
            _CACHE[key] = value
        for key, label in wanted:
            found = _CACHE.get(key) or computed.get(key)
            if found is None:
                continue  # changed between the two queries; the next check sees it
            _CACHE.move_to_end(key)
            out.append(Signature(key[0], key[1], label, found[0], found[1]))
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
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
    for cand in signatures(ctx):
        if not cand.shingles:
            continue
        estimate = signature.jaccard(cand.minhash)
        if estimate < threshold - _MARGIN:
            continue
        scored.append({
            "kind": cand.kind, "id": cand.id, "name": cand.label,
            "similarity": round(jaccard(mine, set(cand.shingles)), 4), "estimate": round(float(estimate), 4),
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
