"""Stream health shared across processes: each sink and gateway writes a small JSON file.

Every process writes ``<data_dir>/stream/<role>-<host>-<pid>.json`` atomically every few
seconds (a sink also on each change of its partitions); the web process (dashboard,
``/api/v1/stream/health``, ``/metrics``) reads and adds them up with ``read_stream_health``.
A process is live while its file is fresh (``STALE_SECONDS``), not marked ``stopped`` (a
clean exit marks it) and, on this host, its pid runs (a SIGKILLed sink counts as stopped at
once, not 30 s later).
"""

from __future__ import annotations

import os
import socket
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

STALE_SECONDS = 30.0
RATE_WINDOW_SECONDS = 10.0


def stream_dir(data_dir: Path | str) -> Path:
    return Path(data_dir) / "stream"


class RateMeter:
    """Events per second over the last few seconds, from a monotonically growing counter."""

    def __init__(self, window: float = RATE_WINDOW_SECONDS):
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def rate(self, total: int, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window:
            self._samples.popleft()
        t0, n0 = self._samples[0]
        return (total - n0) / (now - t0) if now > t0 else 0.0


class HealthFile:
    """The health file of one process (a sink or a gateway)."""

    def __init__(
        self, data_dir: Path | str, role: str, interval: float = 2.0, instance: int | None = None
    ):
        suffix = f"-{instance}" if instance is not None else ""
        name = f"{role}-{socket.gethostname()}-{os.getpid()}{suffix}.json"
        self.path = stream_dir(data_dir) / name
        self.role = role
        self.interval = interval
        self._last = 0.0

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.interval

    def write(self, payload: dict[str, Any]) -> None:
        self._last = time.monotonic()
        doc = {
            "role": self.role,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "updated_at": time.time(),
            **payload,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_bytes(orjson.dumps(doc))
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _pid_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but it runs
    return True


def is_live(doc: dict[str, Any], now: float | None = None) -> bool:
    """Is the process of this health document running? (see the module docstring)"""
    now = time.time() if now is None else now
    if doc.get("state") == "stopped" or now - doc.get("updated_at", 0) > STALE_SECONDS:
        return False
    if doc.get("host") == socket.gethostname() and isinstance(doc.get("pid"), int):
        return _pid_runs(doc["pid"])
    return True


def local_process_alive(data_dir: Path | str, role: str) -> bool:
    """Is a ``role`` process on this host live? (container healthchecks)"""
    for path in stream_dir(data_dir).glob(f"{role}-{socket.gethostname()}-*.json"):
        try:
            if is_live(orjson.loads(path.read_bytes())):
                return True
        except (OSError, orjson.JSONDecodeError):
            continue
    return False


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts else None


def _status(sinks: list[dict[str, Any]], live: list[dict[str, Any]]) -> str:
    """``none`` (no sink ever ran here), ``stopped`` (none live), ``rebalancing`` (some
    partition of the topic has no live owner yet: its events wait), else ``ok``."""
    if not sinks:
        return "none"
    if not live:
        return "stopped"
    owned = {p for d in live for p in d.get("partitions") or []}
    total = max((d.get("topic_partitions") or 0 for d in live), default=0)
    return "ok" if owned and len(owned) >= total else "rebalancing"


def read_stream_health(data_dir: Path | str) -> dict[str, Any]:
    """Events/s in and out, consumer lag, DLQ count and last write, over all live processes.

    Written and DLQ counts add up every sink, stopped ones too: a sink counts a batch only
    once it committed it, so a batch redelivered after a crash is counted once. Events
    consumed, rates and lag are those of live sinks; the lag is None while rebalancing
    (unowned partitions have a lag nobody measures).
    """
    now = time.time()
    docs = []
    folder = stream_dir(data_dir)
    if folder.exists():
        for path in sorted(folder.glob("*.json")):
            if path.name.startswith("."):
                continue
            try:
                docs.append(orjson.loads(path.read_bytes()))
            except (OSError, orjson.JSONDecodeError):
                continue  # removed or replaced while we read; the next read sees it
    sinks = [d for d in docs if d.get("role") == "sink"]
    gateways = [d for d in docs if d.get("role") == "gateway"]
    live_sinks = [d for d in sinks if is_live(d, now)]
    live_gateways = [d for d in gateways if is_live(d, now)]
    last_write = max((d.get("last_write_at") or 0 for d in sinks), default=0) or None
    status = _status(sinks, live_sinks)
    return {
        "status": status,
        "sinks_live": len(live_sinks),
        "sinks_rebalancing": sum(1 for d in live_sinks if d.get("state") == "rebalancing"),
        "events_in_per_s": round(sum(d.get("in_per_s", 0.0) for d in live_sinks), 1),
        "events_out_per_s": round(sum(d.get("out_per_s", 0.0) for d in live_sinks), 1),
        "consumer_lag": (sum(d.get("lag") or 0 for d in live_sinks) if status == "ok" else None),
        "events_consumed": sum(d.get("consumed", 0) for d in live_sinks),
        "events_written": sum(d.get("written", 0) for d in sinks),
        "dlq_count": sum(d.get("dlq", 0) for d in sinks),
        "last_write_at": _iso(last_write),
        "seconds_since_last_write": round(now - last_write, 1) if last_write else None,
        "gateway_accepted": sum(d.get("accepted", 0) for d in gateways),
        "gateway_rejected": sum(d.get("rejected", 0) for d in gateways),
        "gateway_in_per_s": round(sum(d.get("in_per_s", 0.0) for d in live_gateways), 1),
        "processes": docs,
    }
