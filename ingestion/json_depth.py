"""How deeply JSON nests, checked without recursion (hostile bodies nest thousands deep).

Both the collector's batches and the API's bodies refuse JSON nested more than a fixed
number of levels: the parsers recurse once per level, and past the interpreter's recursion
limit they raise ``RecursionError``, which used to surface as a 500.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: Arrays and objects inside one another, the outermost included (collector and API).
MAX_JSON_DEPTH = 64

#: A JSON string (escapes included) or one bracket; strings are skipped whole, in C.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def text_depth_exceeds(body: bytes, limit: int) -> bool:
    """True when the JSON text ``body`` opens more than ``limit`` arrays/objects at once.

    Malformed text is not judged here (the parser refuses it); a quote never closed
    simply ends the scan.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for m in _TOKENS.finditer(body):
        c = m.group()
        if c in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif c in (b"]", b"}"):
            depth -= 1
    return False


def value_depth_exceeds(value: Any, limit: int) -> bool:
    """True when a decoded value nests lists/dicts more than ``limit`` levels (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False


_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]")
_ESCAPES = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


def lone_surrogate(body: bytes) -> str | None:
    r"""The first ``\uD800``-``\uDFFF`` escape in ``body`` that is not half of a pair, or None.

    Such a string decodes in Python but cannot be encoded as UTF-8, so a database driver
    raised ``UnicodeEncodeError`` (a 500) on it.
    """
    if _SURROGATE_HINT.search(body) is None:
        return None
    pending: re.Match[bytes] | None = None  # a high surrogate waiting for its low half
    for m in _ESCAPES.finditer(body):
        hex_ = m.group(1)
        code = int(hex_, 16) if hex_ else -1
        if pending is not None:
            if 0xDC00 <= code <= 0xDFFF and m.start() == pending.end():
                pending = None
                continue
            return pending.group().decode("ascii")
        if 0xD800 <= code <= 0xDBFF:
            pending = m
        elif 0xDC00 <= code <= 0xDFFF:
            return m.group().decode("ascii")
    return pending.group().decode("ascii") if pending is not None else None
