"""The sink: a consumer-group worker that turns ``dvc.events`` into the event store.

It collects a batch across its partitions, validates and pseudonymises it, writes it as
one file per store partition (atomic; named after the Kafka offset ranges, see
``batch_name``, so a redelivered batch rewrites the same name, and duplicate event ids
are dropped on read), sends invalid events to the DLQ and only then commits the offsets.
A crash at any point therefore loses nothing; a stop request (``stop`` event, SIGTERM in
the CLI) finishes the batch in hand first, and one that comes before the sink joined the
group ends it at once. The ``written`` and ``dlq`` counters of its health file count only
committed batches, so a batch redelivered after a crash is counted once, by its committer.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from dvcflow.settings import Settings, get_settings
from ingest import stream_scope
from ingest.batch import decode_batch
from ingest.broker import BrokerError
from ingest.health import HealthFile, RateMeter
from ingest.kafka_config import consumer_config, producer_config
from ingest.pseudonym import Pseudonymizer
from ingest.store import EventStore
from ingest.store_index import StoreIndex

log = logging.getLogger("dvcflow.sink")
_instances = itertools.count(1)  # several sinks may share a process (threads, the demo)


@dataclass
class Rejected:
    """An event that broke the contract, on its way to the DLQ."""

    message: Message
    reason: str
    errors: list[dict[str, str]]


@dataclass
class SinkStats:
    joined: bool = False  # subscribed to the group (False: stopped during start-up)
    consumed: int = 0
    written: int = 0
    dlq: int = 0
    batches: int = 0
    compactions: int = 0
    last_write_at: float | None = None
    lag: int | None = None  # None while it owns no partition: unknown, not zero
    partitions: list[int] = field(default_factory=list)  # assigned now
    ever_assigned: set[int] = field(default_factory=set)
    topic_partitions: int = 0  # of the events topic, to tell a whole assignment

    @property
    def state(self) -> str:
        """``rebalancing`` while it owns no partition (joining, or given none yet)."""
        return "running" if self.partitions else "rebalancing"


def batch_name(keys: list[tuple[str, int]], batches: list[list[Message]]) -> str:
    """The file name of one flush: ``topic-partition-first-last`` for one partition, else
    the topic and a digest of every partition's offset range (names are cut at 100 chars)."""
    ranges = [
        f"{topic}-{partition}-{b[0].offset()}-{b[-1].offset()}"
        for (topic, partition), b in zip(keys, batches, strict=True)
    ]
    if len(ranges) == 1:
        return ranges[0]
    digest = hashlib.sha1("|".join(sorted(ranges)).encode()).hexdigest()[:16]
    return f"{keys[0][0]}-{len(ranges)}p-{digest}"


def dlq_headers(message: Message, reason: str, errors: list[dict[str, str]]) -> list:
    """Why the event was refused and where it came from (the value is scrubbed of raw
    applicant ids: ``stream_scope.scrub``)."""
    return [
        ("dvc.error.reason", reason.encode()),
        ("dvc.error.errors", orjson.dumps(errors)),
        ("dvc.source.topic", (message.topic() or "").encode()),
        ("dvc.source.partition", str(message.partition()).encode()),
        ("dvc.source.offset", str(message.offset()).encode()),
    ]


class Sink:
    """One sink process's state: consumer, DLQ producer, pending batches, counters."""

    def __init__(self, settings: Settings, bootstrap: str | None = None):
        self.settings = settings
        self.store = EventStore(settings.data_dir)
        self.index = StoreIndex(self.store)  # owners and identities, for ``stream_scope``
        self.pseudonymizer = Pseudonymizer(settings.require_pseudonym_key())
        self.consumer = Consumer(consumer_config(settings, bootstrap))
        self.producer = Producer(producer_config(settings, bootstrap))
        self.pending: dict[tuple[str, int], list[Message]] = {}
        self.pending_count = 0
        self.pending_since: float | None = None
        self.stats = SinkStats()
        self.health = HealthFile(settings.data_dir, "sink", instance=next(_instances))
        self._in_rate = RateMeter()
        self._out_rate = RateMeter()
        self._dlq_errors: list[str] = []

    # --- consumer-group callbacks --------------------------------------------------------
    def on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("assigned %s", [p.partition for p in partitions])
        self.stats.partitions = sorted({*self.stats.partitions, *(p.partition for p in partitions)})
        self.stats.ever_assigned.update(p.partition for p in partitions)
        self.report_health()  # the readers see the new owner now, not in up to 2 s

    def on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Write and commit what we hold for the partitions we give up."""
        self.flush({(p.topic, p.partition) for p in partitions})
        gone = {p.partition for p in partitions}
        self.stats.partitions = [p for p in self.stats.partitions if p not in gone]
        self.report_health()

    def on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Another member owns them now: drop them uncommitted; it will redeliver."""
        for p in partitions:
            dropped = self.pending.pop((p.topic, p.partition), [])
            self.pending_count -= len(dropped)
        gone = {p.partition for p in partitions}
        self.stats.partitions = [p for p in self.stats.partitions if p not in gone]
        self.report_health()

    # --- the loop ------------------------------------------------------------------------
    def check_topics(self) -> None:
        """Fail with a clear sentence, not a silent wait, when Kafka or the topic is missing."""
        where = self.settings.kafka_bootstrap
        try:
            topics = self.consumer.list_topics(timeout=15).topics
        except KafkaException as exc:
            raise BrokerError(
                f"Kafka at {where} (DVCFLOW_KAFKA_BOOTSTRAP) is unreachable: {exc}"
            ) from None
        for name, setting in (
            (self.settings.topic_events, "DVCFLOW_TOPIC_EVENTS"),
            (self.settings.topic_dlq, "DVCFLOW_TOPIC_DLQ"),
        ):
            if name not in topics:
                log.warning("topic %s (%s) does not exist on %s", name, setting, where)
        if self.settings.topic_events not in topics:
            raise BrokerError(
                f"topic {self.settings.topic_events} (DVCFLOW_TOPIC_EVENTS) does not exist on "
                f"{where}: create it with `dvcflow broker`."
            )
        self.stats.topic_partitions = len(topics[self.settings.topic_events].partitions)

    def run(self, stop: threading.Event) -> SinkStats:
        self.check_topics()
        if stop.is_set():
            log.info("stopped during start-up, before joining the group")
            self.consumer.close()
            return self.stats
        self.consumer.subscribe(
            stream_scope.topics(self.settings),
            on_assign=self.on_assign,
            on_revoke=self.on_revoke,
            on_lost=self.on_lost,
        )
        self.stats.joined = True
        try:
            while not stop.is_set():
                self.poll_once()
            self.flush()
        finally:
            try:
                self.consumer.close()  # leaves the group now, so the others rebalance at once
                self.producer.flush(10)
            finally:
                self.report_health(stopped=True)  # its counters stay; it is no longer live
        return self.stats

    def poll_once(self) -> None:
        batch_size = self.settings.sink_batch_size
        messages = self.consumer.consume(num_messages=min(batch_size, 10_000), timeout=0.2)
        if any(map(Message.error, messages)):
            messages = self.without_errors(messages)
        # A fetch hands over runs of one partition: group by run, not message by message.
        for partition, run in groupby(messages, Message.partition):
            batch = list(run)
            self.pending.setdefault((batch[0].topic(), partition), []).extend(batch)
        self.pending_count += len(messages)
        self.stats.consumed += len(messages)
        if self.pending_count and self.pending_since is None:
            self.pending_since = time.monotonic()
        age = time.monotonic() - self.pending_since if self.pending_since else 0.0
        if self.pending_count >= batch_size or age >= self.settings.sink_batch_seconds:
            self.flush()
        if self.health.due():
            self.report_health()

    def without_errors(self, messages: list[Message]) -> list[Message]:
        """The data messages; consumer errors are logged (end of partition is not one)."""
        for message in messages:
            err = message.error()
            if err is not None and err.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error: %s", err)
        return [m for m in messages if m.error() is None]

    def flush(self, only: set[tuple[str, int]] | None = None) -> None:
        """Write each pending partition batch, send rejects to the DLQ, then commit."""
        keys = [k for k in self.pending if only is None or k in only]
        if not keys:
            return
        offsets: list[TopicPartition] = []
        touched: set[Path] = set()
        now = datetime.now(UTC)
        batches = [self.pending.pop(key) for key in keys]
        self.pending_count -= sum(len(b) for b in batches)
        # One decode and one file per store partition for all Kafka partitions: the column
        # check and each Parquet file have a fixed cost.
        flat = [m for b in batches for m in b]
        everything, all_rejects = decode_batch(
            list(map(Message.value, flat)), self.pseudonymizer, self.settings, now
        )
        everything, all_rejects = stream_scope.admit(
            flat, everything, all_rejects, self.settings, self.index
        )
        if everything.num_rows:
            kept = np.ones(len(flat), dtype=bool)
            kept[[index for index, _, _ in all_rejects]] = False
            offsets_kept = np.fromiter((m.offset() for m in flat), np.int64, len(flat))[kept]
            everything = everything.set_column(
                everything.schema.get_field_index("source_order"),
                "source_order",
                pa.array(offsets_kept, pa.int64()),
            )
            name = batch_name(keys, batches)
            written = self.store.write(everything, name)
            self.index.add(everything, written)  # the next batch's checks see it, unread
            touched.update(p.parent for p in written)
            self.stats.last_write_at = time.time()
        for index, reason, errors in all_rejects:
            self.send_dlq(Rejected(flat[index], reason, errors))
        for key, messages in zip(keys, batches, strict=True):
            offsets.append(TopicPartition(key[0], key[1], messages[-1].offset() + 1))
        if self.producer.flush(30) > 0 or self._dlq_errors:
            raise RuntimeError(f"the DLQ did not acknowledge rejected events: {self._dlq_errors}")
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # The files are written; whoever owns the partition now redelivers and rewrites.
            log.warning("offset commit failed (%s); the batch will be redelivered", exc)
        else:  # counted by whoever commits it: a redelivered batch is counted once
            self.stats.written += everything.num_rows
            self.stats.dlq += len(all_rejects)
            self.report_health()  # now, so a SIGKILL does not lose the count of this batch
        self.stats.batches += 1
        if not self.pending_count:
            self.pending_since = None
        self.maybe_compact(touched)

    def send_dlq(self, rejected: Rejected) -> None:
        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                self._dlq_errors.append(str(err))

        message = rejected.message
        self.producer.produce(
            self.settings.topic_dlq,
            value=stream_scope.scrub(message.value(), self.pseudonymizer),
            key=message.key(),
            headers=dlq_headers(message, rejected.reason, rejected.errors),
            on_delivery=delivered,
        )
        self.producer.poll(0)

    def maybe_compact(self, partitions: set[Path]) -> None:
        """Merge a partition once it holds ``compact_min_files`` files (one sink at a time)."""
        limit = self.settings.compact_min_files
        full = [p for p in partitions if sum(1 for _ in p.glob("*.parquet")) >= limit]
        if not full:
            return
        lock_path = self.store.data_dir / ".compact.lock"
        with open(lock_path, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another sink is compacting; the next batch will try again
            self.store.compact(min_files=limit, partitions=full)
            self.stats.compactions += 1

    def consumer_lag(self) -> int | None:
        if not self.stats.partitions:
            return None  # the partitions it will own have a lag nobody measures yet
        lag = 0
        try:
            assigned = self.consumer.assignment()
            positions = self.consumer.position(assigned) if assigned else []
        except KafkaException:
            return self.stats.lag
        for tp in positions:
            try:
                _low, high = self.consumer.get_watermark_offsets(tp, cached=True)
            except KafkaException:
                continue
            if high >= 0 and tp.offset >= 0:
                lag += max(0, high - tp.offset)
        return lag + self.pending_count

    def report_health(self, stopped: bool = False) -> None:
        self.stats.lag = None if stopped else self.consumer_lag()
        self.health.write(
            {
                "state": "stopped" if stopped else self.stats.state,
                "topic_partitions": self.stats.topic_partitions,
                "consumed": self.stats.consumed,
                "written": self.stats.written,
                "dlq": self.stats.dlq,
                "batches": self.stats.batches,
                "lag": self.stats.lag,
                "partitions": self.stats.partitions,
                "in_per_s": round(self._in_rate.rate(self.stats.consumed), 1),
                "out_per_s": round(self._out_rate.rate(self.stats.written), 1),
                "last_write_at": self.stats.last_write_at,
            }
        )


def run_sink(
    settings: Settings | None = None,
    stop: threading.Event | None = None,
    bootstrap: str | None = None,
) -> SinkStats:
    """Consume until ``stop`` is set, then finish the batch in hand and leave the group."""
    settings = settings or get_settings()
    stop = stop or threading.Event()
    if stop.is_set():
        log.info("stopped during start-up, before connecting to Kafka")
        return SinkStats()
    return Sink(settings, bootstrap).run(stop)
