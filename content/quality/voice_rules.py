"""The brand voice as the checks and the AI pipeline read it: tone and words to use or avoid."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Voice:
    """Tone, preferred and forbidden words, example paragraphs of an organization's brand."""

    tone: str = ""
    use: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    #: Optional replacements for avoided words (``{"leverage": "use"}``), used by personalize.
    replacements: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_any(cls, value: Any) -> Voice | None:
        """A Voice from a brand kit, its voice (``content.brand.Voice``) or a mapping; None if none.

        Accepts attribute or key names ``tone``, ``use``/``words_to_use``/``words_use``,
        ``avoid``/``words_to_avoid``/``words_avoid``, ``examples``/``example_paragraphs``.
        """
        if value is None or isinstance(value, Voice):
            return value
        inner = value.get("voice") if isinstance(value, dict) else getattr(value, "voice", None)
        if inner is not None:  # a whole brand kit (object or mapping)
            return cls.from_any(inner)
        get = value.get if isinstance(value, dict) else lambda k, d=None: getattr(value, k, d)

        def pick(*names: str) -> Any:
            for name in names:
                found = get(name, None)
                if found:
                    return found
            return None

        return cls(
            tone=str(pick("tone") or ""),
            use=tuple(str(w) for w in pick("use", "words_to_use", "words_use") or ()),
            avoid=tuple(str(w) for w in pick("avoid", "words_to_avoid", "words_avoid") or ()),
            examples=tuple(str(w) for w in pick("examples", "example_paragraphs") or ()),
            replacements=dict(pick("replacements") or {}),
        )


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive match of ``phrase``; a single word also matches s/es/ed/ing."""
    words = phrase.strip().split()
    body = r"\s+".join(re.escape(w) for w in words)
    if len(words) == 1 and words[0].isalpha():
        word = words[0]
        if word.lower().endswith("e"):  # leverage -> leverages, leveraged, leveraging
            body = re.escape(word[:-1]) + r"(?:e|es|ed|ing)"
        else:
            body += r"(?:s|es|ed|ing)?"
    return re.compile(rf"(?<![\w-]){body}(?![\w-])", re.IGNORECASE)
