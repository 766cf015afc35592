"""The real Kafka-compatible broker (Tansu) for streaming tests, one per xdist worker.

Each test gets its own topics, consumer group and data dir (``stream_settings``), so tests
sharing the broker never see each other's events.
"""

from __future__ import annotations

import csv
import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from confluent_kafka import Consumer
from pydantic import SecretStr

from dvcflow.settings import Settings
from ingest.broker import EmbeddedBroker, ensure_topics
from ingest.store import EventStore
from tests.conftest import TEST_KEY

VN = timezone(timedelta(hours=7))
ACTIVITIES = ["submit", "receive", "verify", "appraise", "approve", "pay_fee", "return_result"]
PROVINCES = {"79": ["26734", "26737"], "01": ["00004", "00007"], "48": ["20194"]}


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log_file = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(Settings(), topics={}, log_file=log_file) as embedded:
        yield embedded


@pytest.fixture
def stream_settings(broker: EmbeddedBroker, tmp_path: Path) -> Settings:
    """Settings of one test: unique topics and group on the shared broker, own data dir."""
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        data_dir=tmp_path / "data",
        kafka_bootstrap=broker.bootstrap,
        topic_events=f"ev-{tag}",
        topic_dlq=f"dlq-{tag}",
        topic_partitions=4,
        consumer_group=f"sink-{tag}",
        pseudonym_key=SecretStr(TEST_KEY),
        sink_batch_size=5_000,
        sink_batch_seconds=0.5,
    )
    ensure_topics(broker.client_config(), {settings.topic_events: 4, settings.topic_dlq: 1})
    return settings


def make_events(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Valid wire events: dossiers of 3-7 steps across provinces, months and channels."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    case = 0
    start = datetime(2025, 6, 20, 8, 0, tzinfo=VN)
    while len(events) < n:
        case += 1
        province = rng.choice(sorted(PROVINCES))
        commune = rng.choice(PROVINCES[province])
        procedure = rng.choice(["1.001193", "1.000894", "2.000488"])
        at = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        applicant = f"0{province}20300{rng.randrange(10_000):04d}"
        for step in range(rng.randint(3, 7)):
            if len(events) == n:
                break
            at += timedelta(minutes=rng.randrange(1, 3000), seconds=rng.randrange(60))
            last = step == 6
            events.append(
                {
                    "event_id": f"{procedure}-{case:06d}-{step}",
                    "case_id": f"{province}.{commune}-{case:06d}",
                    "procedure_code": procedure,
                    "activity": ACTIVITIES[step],
                    "timestamp": at.isoformat(),
                    "lifecycle": "complete",
                    "org_unit": f"C{commune}",
                    "province_code": province,
                    "commune_code": commune,
                    "channel": rng.choice(["online", "counter", "postal"]),
                    "actor_role": "citizen" if step == 0 else "officer",
                    "resource": f"officer-{rng.randrange(40)}",
                    "applicant_id": applicant,
                    "outcome": "approved" if last else None,
                    "attributes": {"fee": rng.randrange(3) * 50_000},
                }
            )
    return events


def write_csv(events: list[dict[str, Any]], path: Path) -> Path:
    """The events as a CSV that ``dvcflow import``/``replay`` read (attributes as columns)."""
    fields = [k for k in events[0] if k != "attributes"] + ["fee"]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for e in events:
            row = {k: ("" if v is None else v) for k, v in e.items() if k != "attributes"}
            writer.writerow({**row, **e["attributes"]})
    return path


def store_counts(data_dir: Path) -> tuple[int, int]:
    """(rows in all files, unique event ids) of the store.

    Retries when a running sink's compaction removed a listed file between list and read.
    """
    store = EventStore(data_dir)
    for _ in range(20):
        if store.is_empty():
            return 0, 0
        files = ", ".join(f"'{p}'" for p in store.files())
        try:
            con = store.connect()
            raw = con.sql(f"SELECT count(*) FROM read_parquet([{files}])").fetchone()[0]
            unique = con.sql("SELECT count(*) FROM events").fetchone()[0]
        except duckdb.IOException:
            time.sleep(0.05)
            continue
        return raw, unique
    raise AssertionError(f"the store under {data_dir} kept changing while being read")


def wait_for(check: Callable[[], bool], timeout: float, what: str, every: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def consume_all(settings: Settings, topic: str, expected: int, timeout: float = 60.0) -> list:
    """Read ``expected`` messages of ``topic`` from the start (a fresh group)."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
    )
    consumer.subscribe([topic])
    out: list = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            out += [m for m in consumer.consume(1000, 0.5) if m.error() is None]
    finally:
        consumer.close()
    return out
