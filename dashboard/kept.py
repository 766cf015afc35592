"""What the web process keeps between requests: figures per store version (``FigureCache``)
and the loaded logs they are computed from (``LoadedLog``)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import duckdb

import mining.log
import mining.reform.source
import mining.reform.steps
from dvcflow.settings import Settings
from ingest.store import EventStore
from mining.filters import LogFilter


@dataclass
class Entry:
    version: str
    value: Any
    at: float


class FigureCache:
    """An LRU of figures keyed by (what, filter, options), each remembering its store version.

    One computation per key and version at a time: concurrent askers wait for it instead of
    repeating it. A figure computed less than ``stale_seconds`` ago may be served for a newer
    version, so a live stream does not make every refresh recompute everything.
    """

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._inflight: dict[tuple, Future] = {}
        self._lock = threading.Lock()

    def peek(self, key: tuple, version: str) -> Any | None:
        """The value kept for ``key`` at ``version``, or None; computes nothing."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version:
                return None
            self._entries.move_to_end(key)
            return entry.value

    def get(
        self, key: tuple, version: str, compute: Callable[[], Any], stale_seconds: float = 0.0
    ) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (
                entry.version == version or time.monotonic() - entry.at < stale_seconds
            ):
                self._entries.move_to_end(key)
                return entry.value
            future = self._inflight.get((key, version))
            owner = future is None
            if owner:
                future = self._inflight[(key, version)] = Future()
        if not owner:
            return future.result()
        try:
            value = compute()
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop((key, version), None)
        future.set_result(value)
        with self._lock:
            self._entries[key] = Entry(version, value, time.monotonic())
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value


class LoadedLog:
    """One filter's log read once (``mining.log.load_log``) and what is derived from it.

    The analysis, every reform figure (from one ``StepLog``) and the dossier pages of a
    filter all read it, so a filter costs one read of the store instead of one per figure,
    and a drill-down or a what-if on a kept filter skips the read. DuckDB connections are
    not for concurrent use: every query on ``con`` holds ``lock``.
    """

    def __init__(
        self, flt: LogFilter, version: str, con: duckdb.DuckDBPyConnection, settings: Settings
    ):
        self.flt = flt
        self.settings = settings  # what it was read under: its StepLog is built under them
        self.version = version
        self.con = con
        self.lock = threading.Lock()
        self._steps_lock = threading.Lock()  # one build of the StepLog at a time
        self._steps: Any = None

    @classmethod
    def read(cls, store: EventStore, flt: LogFilter, settings: Settings) -> LoadedLog:
        """``flt``'s log read from the store (``mining.log.load_log``) in ``settings``' time
        zone."""
        version = store.version()
        return cls(flt, version, mining.log.load_log(store, flt, settings=settings), settings)

    @classmethod
    def narrowed(cls, parent: LoadedLog, flt: LogFilter, settings: Settings) -> LoadedLog:
        """``flt``'s log cut from ``parent``'s in memory (``mining.log.narrow_log``)."""
        narrowed = parent.query(lambda con: mining.log.narrow_log(con, flt, settings))
        return cls(flt, parent.version, narrowed, settings)

    def query(self, fn: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
        with self.lock:
            return fn(self.con)

    def steps(self) -> Any:
        """The filter's ``StepLog`` (``mining.reform.source.steps_from``), built once. ``con``
        is held only while its frames are read, so a drill-down on the same filter need not
        wait for the pandas half."""
        with self._steps_lock:
            if self._steps is None:
                frames = self.query(
                    lambda con: mining.reform.source.step_frames(con, self.flt, self.settings)
                )
                self._steps = mining.reform.steps.build_step_log(*frames, self.settings)
            return self._steps
