"""Analyses kept in memory, keyed by store version: a dashboard asking again pays nothing.

The key holds the store's folder and ``EventStore.version()`` (which changes whenever a
file is added or swapped), so new events make a fresh analysis, never a stale one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from dvcflow.settings import Settings, or_environment


class AnalysisCache:
    """A small thread-safe LRU of analysis results."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        value = compute()  # outside the lock: analyses of other keys run meanwhile
        with self._lock:
            self.misses += 1
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache: AnalysisCache | None = None


def analysis_cache(settings: Settings | None = None) -> AnalysisCache:
    """The process-wide cache, sized by ``settings.mining_cache_size`` when first asked for
    (without: the environment's ``DVCFLOW_MINING_CACHE_SIZE``)."""
    global _cache
    if _cache is None:
        _cache = AnalysisCache(or_environment(settings).mining_cache_size)
    return _cache
