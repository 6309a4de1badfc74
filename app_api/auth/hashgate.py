"""At most one password hash per core at a time; beyond that, 503 with Retry-After.

argon2id with argon2-cffi's defaults costs ~64 MiB and tens of milliseconds of a core per
hash. Thirty concurrent sign-ins with random emails (each verified against a dummy hash,
so that unknown emails cost what known ones do) took the API from 574 MB to 1.55 GB and
its other requests from 0.3 s to 4-11 s. Bounding the hashes in flight to the cores keeps
both flat; a request that finds every slot taken waits briefly, then is told to retry.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app_api.errors import APIError

WAIT_S = 0.25


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class HashGate:
    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._sem = threading.BoundedSemaphore(slots)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one hashing slot, or raise 503 (``busy``) after :data:`WAIT_S`."""
        if not self._sem.acquire(timeout=WAIT_S):
            raise APIError(503, "busy", "too many sign-ins at once; retry in a second",
                           headers={"Retry-After": "1"})
        try:
            yield
        finally:
            self._sem.release()


#: One per process: hashing competes for the same cores whichever route asks.
GATE = HashGate(cores())
