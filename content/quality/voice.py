"""Brand voice: words the organization avoids must not appear; words it uses are counted."""

from __future__ import annotations

from typing import Any

from content.document import Document
from content.quality.result import CheckResult, OrgContext
from content.quality.text import segments
from content.quality.voice_rules import phrase_pattern


def check_voice(document: Document, ctx: OrgContext) -> CheckResult:
    """Occurrences of the brand's words to avoid (threshold 0), each with where it is."""
    voice = ctx.voice
    if voice is None or not (voice.avoid or voice.use):
        return CheckResult("voice", True, 0.0, 0.0, "No brand voice words are set for this organization.")
    segs = segments(document)
    found: list[dict[str, Any]] = []
    for phrase in voice.avoid:
        pattern = phrase_pattern(phrase)
        places = []
        for seg in segs:
            for m in pattern.finditer(seg.text):
                start = max(0, m.start() - 40)
                places.append({"where": seg.where, "excerpt": seg.text[start : m.end() + 40]})
        if places:
            found.append({"word": phrase, "count": len(places), "places": places[:5]})
    used = {p: sum(len(phrase_pattern(p).findall(s.text)) for s in segs) for p in voice.use}
    total = sum(int(f["count"]) for f in found)
    usage = [{"use": word, "count": n} for word, n in used.items()]
    if found:
        words = ", ".join(f"{f['word']!r} ×{f['count']}" for f in found)
        hint = ""
        if voice.use:
            hint = f" The brand prefers: {', '.join(voice.use[:8])}."
        return CheckResult("voice", False, float(total), 0.0,
                           f"Words the brand avoids appear {total} times: {words}.{hint}",
                           found + usage)
    return CheckResult(
        "voice", True, 0.0, 0.0,
        f"None of the {len(voice.avoid)} words to avoid appears; "
        f"{sum(1 for n in used.values() if n)} of {len(voice.use)} preferred words are used.", usage)
