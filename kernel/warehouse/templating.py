"""Render ``warehouse_sql`` Jinja SQL: ``source()``, ``ref()`` and ``config()`` per backend.

Autoescape is on: the helpers return ``Markup``, so a plain value interpolated into SQL gets
HTML-escaped and fails loudly. Values belong in bound query parameters (``{org_id:String}``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from warehouse_sql import MODELS_DIR


@dataclass
class Rendered:
    sql: str
    config: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(MODELS_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(
    template: str,
    source: Callable[[str], str],
    ref: Callable[[str], str],
    variables: dict[str, Any] | None = None,
) -> Rendered:
    """Render SQL text whose ``source``/``ref`` resolve through the given callables."""
    out = Rendered(sql="")

    def _source(name: str) -> Markup:
        out.sources.append(name)
        return Markup(source(name))

    def _ref(name: str) -> Markup:
        out.refs.append(name)
        return Markup(ref(name))

    def _config(**kwargs: Any) -> str:
        out.config.update(kwargs)
        return ""

    tpl = _env().from_string(template)
    out.sql = tpl.render(source=_source, ref=_ref, config=_config, **(variables or {})).strip()
    return out


def model_names() -> list[str]:
    return sorted(p.stem for p in MODELS_DIR.glob("*.sql"))


def model_text(name: str) -> str:
    path = Path(MODELS_DIR) / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no SQL model named {name!r} in {MODELS_DIR}")
    return path.read_text(encoding="utf-8")
