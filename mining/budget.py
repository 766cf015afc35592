"""A time budget for pure-Python library code (pm4py's miners and replay) that has no way
to be cancelled.

``within(seconds, fn, *args)`` runs ``fn`` in the calling thread; a timer raises
``OverBudget`` in that thread once ``seconds`` have passed (CPython's asynchronous
exception, delivered between two bytecodes), so the work really stops (no thread left
burning a core), at no cost while it runs, and the caller can say what it did instead.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class OverBudget(BaseException):
    """The work ran past its time budget and was stopped (a BaseException, so a library's
    own ``except Exception`` does not swallow it)."""


def within(seconds: float, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, or ``OverBudget`` once ``seconds`` have passed."""
    if seconds <= 0:
        raise OverBudget("no time left")
    thread = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()
    done = False

    def stop() -> None:
        with lock:
            if not done:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(thread, ctypes.py_object(OverBudget))

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        return fn(*args, **kwargs)
    finally:
        with lock:  # past this line the timer can no longer fire into this thread
            done = True
        timer.cancel()
