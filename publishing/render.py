"""Jinja environments (autoescape on) for the public pages and the mails."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

HERE = Path(__file__).parent


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader([HERE / "templates", HERE / "mail" / "templates"]),
        autoescape=select_autoescape(("html",), default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        auto_reload=False,  # templates ship with the code: no stat() per render
    )


def render(template: str, /, **context: Any) -> str:
    """Render ``template`` (``.html`` escaped, ``.txt`` not)."""
    return environment().get_template(template).render(**context)
