"""``dvcflow replay``: stream a log file into Kafka, keyed by case, in timestamp order.

Reads through ``ingest.importers.read_events`` (any format ``dvcflow import`` reads), sorts
by timestamp (stable: file order breaks ties) and sends at ``speed`` times real time, or as
fast as the broker takes them when ``speed`` is ``None``. The sort is external: each chunk
of the file is encoded, sorted and written as a run (Arrow IPC) in a scratch directory (under
``TMPDIR``), then the runs are merged as they stream out, so replay holds one chunk and
one batch per run, never the whole log as Python objects (the importer still reads the
file into one frame). Contract checks are the sink's
job: invalid events reach the DLQ with their reason, like any other producer's.
"""

from __future__ import annotations

import heapq
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka import KafkaError, Message

from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings, get_settings
from ingest.importers import ImportOptions, read_events
from ingest.producer import EventProducer

RUN_BATCH = 5_000  # messages per record batch of a run: what the merge holds per run
Row = tuple[int | None, bytes | None, bytes]
"""(event time in µs since the epoch or None, Kafka key, Kafka value)"""

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


_SEPARATOR = orjson.Fragment(b"\n")  # orjson's compact output never holds a raw newline


def encode_events(events: list[dict[str, Any]]) -> pa.Array:
    """``encode_event`` of each, as one binary array from one orjson call: each value orjson
    returns keeps about 4 KB of memory (50,000 of them ~200 MB) and costs a page fault."""
    column: list[Any] = [_SEPARATOR] * (2 * len(events) - 1)
    column[::2] = events
    blob = orjson.dumps(column, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)
    return pc.split_pattern(pa.array([blob[1:-1]], pa.binary()), ",\n,").flatten()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(value: Any) -> int | None:
    """An aware datetime as µs since the epoch; anything else has no usable time."""
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return (value - _EPOCH) // _MICROSECOND
    return None


@dataclass
class Spooled:
    """What ``spool`` wrote: the sorted runs, how many events, the first and last times."""

    runs: list[Path] = field(default_factory=list)
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    first_us: int | None = None
    last_us: int | None = None


_RUN_SCHEMA = pa.schema(
    [("seq", pa.int64()), ("ts", pa.int64()), ("key", pa.binary()), ("value", pa.binary())]
)


def spool(chunks: Iterable[list[dict[str, Any]]], workdir: Path) -> Spooled:
    """Encode each chunk, sort it by (time, file order) and write it as a run file."""
    seen = Spooled()
    for chunk in chunks:
        if not chunk:
            continue
        times = [_micros(e.get("timestamp")) for e in chunk]
        keys = [None if e.get("case_id") is None else str(e["case_id"]).encode() for e in chunk]
        run = pa.table(
            [
                pa.array(range(seen.count, seen.count + len(chunk)), pa.int64()),
                pa.array(times, pa.int64()),
                pa.array(keys, pa.binary()),
                encode_events(chunk),
            ],
            schema=_RUN_SCHEMA,
        )
        order = pc.sort_indices(
            run, sort_keys=[("ts", "ascending", "at_end"), ("seq", "ascending", "at_end")]
        )
        path = workdir / f"run-{len(seen.runs):06d}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, _RUN_SCHEMA) as writer:
            writer.write_table(run.take(order), max_chunksize=RUN_BATCH)
        seen.runs.append(path)
        for event, ts in zip(chunk, times, strict=True):
            if ts is None:
                continue
            if seen.first_us is None or ts < seen.first_us:  # earliest, first in file order
                seen.first_us, seen.first = ts, event["timestamp"]
            if seen.last_us is None or ts >= seen.last_us:  # latest, last in file order
                seen.last_us, seen.last = ts, event["timestamp"]
        seen.count += len(chunk)
    return seen


def _run_rows(path: Path) -> Iterator[tuple[int, int | None, bytes | None, bytes]]:
    with pa.OSFile(str(path)) as source:  # read batch by batch (a map would stay resident)
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i).to_pydict()
            yield from zip(batch["seq"], batch["ts"], batch["key"], batch["value"], strict=True)


def _merge_key(row: tuple[int, int | None, bytes | None, bytes]) -> tuple[bool, int, int]:
    seq, ts, _key, _value = row
    return (ts is None, ts or 0, seq)


def merged(runs: list[Path]) -> Iterator[Row]:
    """The runs' events by time (file order breaks ties), untimed ones last in file order."""
    for _seq, ts, key, value in heapq.merge(*map(_run_rows, runs), key=_merge_key):
        yield ts, key, value


def ordered_events(chunks: Iterable[list[dict[str, Any]]], workdir: Path) -> Iterator[Row]:
    """``chunks`` as sorted ``Row``s, sorted through run files in ``workdir``."""
    yield from merged(spool(chunks, workdir).runs)


def send_events(
    rows: Iterable[Row],
    total: int,
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
    start_event: int | None = None
    sent = 0
    for ts, key, value in rows:
        if speed is not None and ts is not None:
            if start_event is None:
                start_event = ts
            delay = start_wall + (ts - start_event) / 1e6 / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        producer.produce(topic, key, value, delivered)
        sent += 1
        if progress is not None and sent % 10_000 == 0:
            progress(sent, total)
        if errors:
            break
    left = producer.flush(60)
    if errors or left:
        raise ReplayError(
            f"Kafka refused or did not acknowledge {len(errors) + left} events "
            f"(first error: {errors[0] if errors else 'timeout'})."
        )
    if progress is not None:
        progress(sent, total)
    return sent


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
    if speed is not None and speed <= 0:
        raise ReplayError(f"--speed must be above 0, got {speed}.")
    with tempfile.TemporaryDirectory(prefix="dvcflow-replay-") as tmp:  # TMPDIR decides where
        seen = spool(read_events(path, options), Path(tmp))
        producer = EventProducer(settings, bootstrap)
        started = time.monotonic()
        try:
            rows = merged(seen.runs)
            sent = send_events(rows, seen.count, producer, settings.topic_events, speed, progress)
        finally:
            producer.close()
    return ReplayReport(
        path=path,
        sent=sent,
        seconds=time.monotonic() - started,
        first_timestamp=seen.first,
        last_timestamp=seen.last,
    )
