"""Password hashing off the request path's CPU: bounded, low priority, 503 beyond.

argon2id with argon2-cffi's defaults costs ~64 MiB and tens of milliseconds of a core per
hash. Thirty concurrent sign-ins with random emails (each verified against a dummy hash,
so that unknown emails cost what known ones do) took the API from 574 MB to 1.55 GB and
its other requests from 0.3 s to 4-11 s. So hashes run in a small pool of dedicated
threads, one per core (memory: one hash per core at most), at a lower CPU priority (10
more nice on Linux: the API's other requests preempt them); a sign-in that finds every slot
taken waits briefly, then is answered 503 with ``Retry-After``.

The routes that hash take :data:`HashSlot` first: the request waits for a slot on the event
loop (costing nothing) for up to :data:`ADMIT_WAIT_S` before its session or thread is
taken. A flood is thus answered slowly and cheaply: thirty clients looping on 503s sent
thousands of requests a second through the API otherwise, starving every other route.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, TypeVar

from fastapi import Depends

from app_api.errors import APIError

log = logging.getLogger(__name__)

WAIT_S = 0.25
ADMIT_WAIT_S = 1.0
NICE = 10
T = TypeVar("T")


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _lower_priority() -> None:
    """Linux schedules threads one by one: renice only this hashing thread."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + NICE))
    except (AttributeError, OSError):  # not Linux, or not allowed: hashing still bounded
        log.debug("could not lower the hashing threads' priority")


def busy() -> APIError:
    return APIError(503, "busy", "too many sign-ins at once; retry in a second",
                    headers={"Retry-After": "1"})


class HashGate:
    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._sem = threading.BoundedSemaphore(slots)
        self._pool = ThreadPoolExecutor(slots, thread_name_prefix="argon2",
                                        initializer=_lower_priority)

    def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on a hashing thread, or 503 (``busy``) after :data:`WAIT_S`."""
        if not self._sem.acquire(timeout=WAIT_S):
            raise busy()
        try:
            return self._pool.submit(fn, *args).result()
        finally:
            self._sem.release()

    def hold(self) -> threading.BoundedSemaphore:
        """The slots themselves (tests occupy them to see the 503)."""
        return self._sem


#: One per process: hashing competes for the same cores whichever route asks.
GATE = HashGate(cores())


class Admission:
    """Requests allowed into the hashing routes at once, per event loop."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._sems: dict[int, asyncio.Semaphore] = {}

    def semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()  # one per loop: TestClient runs several
        sem = self._sems.get(id(loop))
        if sem is None:
            sem = self._sems[id(loop)] = asyncio.Semaphore(self.slots)
        return sem


ADMISSION = Admission(cores())


async def hashing_slot() -> AsyncIterator[None]:
    """Dependency: hold one admission slot for the request, or 503 after a second."""
    sem = ADMISSION.semaphore()
    try:
        await asyncio.wait_for(sem.acquire(), ADMIT_WAIT_S)
    except TimeoutError:
        raise busy() from None
    try:
        yield
    finally:
        sem.release()


HashSlot = Annotated[None, Depends(hashing_slot)]
