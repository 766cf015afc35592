"""The web process's background work: how far the warming of the dashboard's first views has
got, the users' work it waits for, and the lower CPU priority it and the read-ahead run at."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WARM_YIELD_SECONDS = 5.0  # the warming waits at most this long for users' figures to finish
BACKGROUND_NICENESS = 10  # the warming's and read-ahead's threads yield the CPU to requests


def in_background() -> None:
    """Lower this thread's CPU priority (Linux: per thread, inherited by the DuckDB workers
    it starts), so the warming and the read-ahead take only what requests leave."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)


@dataclass
class WarmProgress:
    """How far the background warming has got (``Service.status``, ``/api/v1/status``)."""

    version: str | None = None  # the store version warmed, or being warmed
    done: int = 0  # figures computed (or found cached) of ``total``
    total: int = 0
    seconds: float | None = None  # how long the last finished pass took
    finished: bool = False


class UserWork:
    """Counts the figures being computed for users (requests and their read-ahead), so the
    background warming can wait for them: on a 2-core server a warming step running beside a
    user's computation makes that user wait about twice as long."""

    def __init__(self) -> None:
        self._running = 0
        self._idle = threading.Condition()

    def around(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        def counted() -> Any:
            with self._idle:
                self._running += 1
            try:
                return fn()
            finally:
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()

        return counted

    def wait_idle(self, limit: float) -> None:
        """Until no user figure is being computed, or ``limit`` seconds (no starvation)."""
        with self._idle:
            self._idle.wait_for(lambda: self._running == 0, timeout=limit)
