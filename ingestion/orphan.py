"""A worker process dies with its supervisor, after draining its spool.

``lodestone collector``/``serve`` with several workers (uvicorn, granian) start them as
``multiprocessing`` children. When the supervisor is killed with SIGKILL, nothing tells
them: they kept answering on the port for hours, holding a spool slot, and a restarted
collector ran beside them. Each worker therefore watches its parent's *sentinel* (a pipe
whose other end only the parent holds: it becomes readable the moment the parent dies,
whatever killed it) and its parent pid in a daemon thread, and then runs the same drain as a graceful stop —
finish the group commit, seal, ship what it can — and exits.

``PR_SET_PDEATHSIG`` was not used: it fires when the *thread* that forked the worker exits,
and granian respawns workers from helper threads, so it would kill healthy workers.

A process that is not a ``multiprocessing`` child (one worker, uvicorn's default) is the
server itself; its parent (a shell, systemd) may go away without it having to stop.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Awaitable, Callable
from multiprocessing.connection import wait

log = logging.getLogger(__name__)

DRAIN_TIMEOUT_S = 30.0


def watch_parent(loop: asyncio.AbstractEventLoop, drain: Callable[[], Awaitable[None]],
                 *, exit_code: int = 0) -> threading.Thread | None:
    """In a multiprocessing worker, run ``drain()`` on ``loop`` and exit when the parent dies.

    Returns the watcher thread, or None when this process has no multiprocessing parent.
    """
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if parent is None or sentinel is None:
        return None

    parent_pid = parent.pid

    def watch() -> None:
        # The sentinel is readable once the parent is gone (EOF on its pipe). A sibling
        # forked later may hold a copy of that pipe (granian forks), so the parent's pid
        # is checked too: a dead parent's child is adopted by another process at once.
        while not wait([sentinel], timeout=0.25) and os.getppid() == parent_pid:
            pass
        log.warning("supervisor %s died; draining the spool and exiting", parent_pid)
        try:
            future = asyncio.run_coroutine_threadsafe(_call(drain), loop)
            future.result(DRAIN_TIMEOUT_S)
        except Exception:  # the spool keeps what was not shipped; a restart ships it
            log.exception("drain after the supervisor's death failed")
        finally:
            os._exit(exit_code)  # no server-specific shutdown: there is nobody to answer

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


async def _call(drain: Callable[[], Awaitable[None]]) -> None:
    await drain()
