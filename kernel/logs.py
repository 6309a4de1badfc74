"""Logging of every Lodestone process: structured (structlog), quiet on the console.

* The console (stderr) shows warnings and errors, and the lines of the ``lodestone.console``
  logger (one per promotion decision); ``-v`` shows every INFO line there too.
* Everything at INFO and above (DEBUG with ``-v``) goes to ``<data dir>/logs/<name>.log``:
  Alembic, Dagster, httpx, the API's request lines.
* Format: human on a terminal, one JSON object per line otherwise (and always in files).
* Every line carries the ``request_id`` and ``org_id`` of the request it belongs to, if any
  (bound by ``app_api.observability``); events carry no personal data: no IPs, no emails,
  no query strings, no API keys.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import structlog

#: Lines a person running ``up`` should see without ``-v`` (INFO included).
CONSOLE = "lodestone.console"
#: Libraries whose INFO lines are noise even in the files (one line per HTTP call).
CHATTY = {"httpx": logging.WARNING, "httpcore": logging.WARNING}

#: The ASGI scope of the request being served; its ``state["principal"]`` names the
#: organization once the caller is authenticated (set by app_api.observability).
REQUEST_SCOPE: ContextVar[MutableMapping[str, Any] | None] = ContextVar("lodestone_scope", default=None)


def _add_org(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    scope = REQUEST_SCOPE.get()
    principal = (scope.get("state") or {}).get("principal") if scope else None
    org = getattr(principal, "org_id", None)
    if org:
        event.setdefault("org_id", org)
    return event


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    _add_org,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class _ConsoleFilter(logging.Filter):
    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        return (self.verbose or record.levelno >= logging.WARNING
                or record.name == CONSOLE or record.name.startswith(CONSOLE + "."))


def _formatter(json: bool) -> logging.Formatter:
    renderer: Any = (structlog.processors.JSONRenderer() if json
                     else structlog.dev.ConsoleRenderer(colors=False))
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer])


def configure_logging(log_dir: Path | None, name: str, *, verbose: bool = False,
                      json_console: bool | None = None) -> Path | None:
    """Route every logger of this process: console (quiet) and ``log_dir/<name>.log``.

    Args:
        log_dir: where the file goes; None logs to the console only.
        name: the process (``up``, ``serve``, ``cli``), the file's name.
        verbose: show INFO on the console and DEBUG in the file.
        json_console: force JSON (True) or human (False) lines; None: human on a terminal.

    Returns:
        The log file's path, if any.
    """
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_lodestone", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    json = not sys.stderr.isatty() if json_console is None else json_console
    console.setFormatter(_formatter(json))
    console.addFilter(_ConsoleFilter(verbose))
    handlers: list[logging.Handler] = [console]
    path = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / f"{name}.log"
        file = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
        file.setFormatter(_formatter(True))
        handlers.append(file)
    for handler in handlers:
        handler._lodestone = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for logger, level in CHATTY.items():
        logging.getLogger(logger).setLevel(logging.DEBUG if verbose else level)
    # Libraries that install their own console handler send their lines through ours.
    for logger in ("alembic", "dagster", "uvicorn", "uvicorn.error", "uvicorn.access"):
        lib = logging.getLogger(logger)
        for handler in list(lib.handlers):
            lib.removeHandler(handler)
        lib.propagate = True
    return path


def get_logger(name: str) -> Any:
    """A structlog logger (``log.info("event", key=value)``) routed like the stdlib ones."""
    return structlog.stdlib.get_logger(name)
