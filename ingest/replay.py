"""``dvcflow replay``: stream a log file into Kafka, keyed by case, in timestamp order.

Reads through ``ingest.importers.read_events`` (any format ``dvcflow import`` reads), sorts
by timestamp (stable: file order breaks ties) and sends at ``speed`` times real time, or as
fast as the broker takes them when ``speed`` is ``None``. Contract checks are the sink's
job: invalid events reach the DLQ with their reason, like any other producer's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import KafkaError, Message

from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings, get_settings
from ingest.importers import ImportOptions, read_events
from ingest.producer import EventProducer

Progress = Callable[[int, int], None]


class ReplayError(DvcflowError):
    """Replay could not deliver the file's events to Kafka."""


@dataclass
class ReplayReport:
    path: Path
    sent: int
    seconds: float
    first_timestamp: datetime | None
    last_timestamp: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sent": self.sent,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.sent / self.seconds, 1) if self.seconds else None,
            "first_timestamp": self.first_timestamp,
            "last_timestamp": self.last_timestamp,
        }


def _default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def encode_event(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)


def ordered_events(chunks: Iterable[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """All events, sorted by timestamp; events without a usable time keep file order last."""
    events = [e for chunk in chunks for e in chunk]
    timed = [e for e in events if isinstance(e.get("timestamp"), datetime)]
    untimed = [e for e in events if not isinstance(e.get("timestamp"), datetime)]
    timed.sort(key=lambda e: e["timestamp"])
    return timed + untimed


def send_events(
    events: list[dict[str, Any]],
    producer: EventProducer,
    topic: str,
    speed: float | None = None,
    progress: Progress | None = None,
) -> int:
    """Send in order, pacing by event time when ``speed`` is set; raise if any is refused."""
    errors: list[str] = []

    def delivered(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            errors.append(str(err))

    if speed is not None and speed <= 0:
        raise ReplayError(f"--speed must be above 0, got {speed}.")
    start_wall = time.monotonic()
    start_event = next(
        (e["timestamp"] for e in events if isinstance(e.get("timestamp"), datetime)), None
    )
    for i, event in enumerate(events):
        ts = event.get("timestamp")
        if speed is not None and start_event is not None and isinstance(ts, datetime):
            due = start_wall + (ts - start_event).total_seconds() / speed
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        case_id = event.get("case_id")
        key = str(case_id).encode() if case_id is not None else None
        producer.produce(topic, key, encode_event(event), delivered)
        if progress is not None and (i + 1) % 10_000 == 0:
            progress(i + 1, len(events))
        if errors:
            break
    left = producer.flush(60)
    if errors or left:
        raise ReplayError(
            f"Kafka refused or did not acknowledge {len(errors) + left} events "
            f"(first error: {errors[0] if errors else 'timeout'})."
        )
    if progress is not None:
        progress(len(events), len(events))
    return len(events)


def replay_file(
    path: Path | str,
    options: ImportOptions | None = None,
    settings: Settings | None = None,
    bootstrap: str | None = None,
    speed: float | None = None,
    progress: Progress | None = None,
) -> ReplayReport:
    """Stream ``path`` into ``settings.topic_events``; ``speed=None`` means as fast as possible."""
    settings = settings or get_settings()
    path = Path(path)
    options = options or ImportOptions(local_timezone=settings.timezone)
    events = ordered_events(read_events(path, options))
    producer = EventProducer(settings, bootstrap)
    started = time.monotonic()
    try:
        sent = send_events(events, producer, settings.topic_events, speed, progress)
    finally:
        producer.close()
    times = [e["timestamp"] for e in events if isinstance(e.get("timestamp"), datetime)]
    return ReplayReport(
        path=path,
        sent=sent,
        seconds=time.monotonic() - started,
        first_timestamp=times[0] if times else None,
        last_timestamp=times[-1] if times else None,
    )
