"""``dvcflow sink`` killed with SIGKILL at random points, restarted: nothing lost or doubled."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from dvcflow.settings import Settings
from ingest.store import EventStore
from tests.conftest import TEST_KEY
from tests.e2e.conftest import make_events, store_counts, wait_for

pytestmark = pytest.mark.e2e

N = 30_000
KILLS = 5


def _start_sink(settings: Settings, log: Path, **overrides: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DVCFLOW_DATA_DIR": str(settings.data_dir),
        "DVCFLOW_KAFKA_BOOTSTRAP": str(settings.kafka_bootstrap),
        "DVCFLOW_TOPIC_EVENTS": settings.topic_events,
        "DVCFLOW_TOPIC_DLQ": settings.topic_dlq,
        "DVCFLOW_CONSUMER_GROUP": settings.consumer_group,
        "DVCFLOW_PSEUDONYM_KEY": TEST_KEY,
        "DVCFLOW_SINK_BATCH_SIZE": "1000",
        "DVCFLOW_SINK_BATCH_SECONDS": "0.3",
        "DVCFLOW_COMPACT_MIN_FILES": "6",  # compactions happen, and get killed too
        **overrides,
    }
    exe = Path(sys.executable).with_name("dvcflow")
    with log.open("ab") as out:
        return subprocess.Popen([str(exe), "sink"], env=env, stdout=out, stderr=out)


def _stream(settings: Settings, events: list[dict], done: threading.Event) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 20})
    for start in range(0, len(events), 1000):
        for event in events[start : start + 1000]:
            producer.produce(settings.topic_events, orjson.dumps(event), event["case_id"])
        producer.poll(0)
        time.sleep(0.4)
    producer.flush(30)
    done.set()


def test_sigkill_and_restart_loses_and_doubles_nothing(
    stream_settings: Settings, tmp_path: Path
) -> None:
    rng = random.Random(2024)
    events = make_events(N, seed=31)
    log = tmp_path / "sink.log"
    streamed = threading.Event()
    threading.Thread(target=_stream, args=(stream_settings, events, streamed), daemon=True).start()

    kills = 0
    store = EventStore(stream_settings.data_dir)
    proc = _start_sink(stream_settings, log)
    try:
        while kills < KILLS:
            before = store.version()
            wait_for(  # a file added or replaced (stat only, no scan)
                lambda b=before: store.version() != b,
                90,
                f"the sink to write after restart {kills}",
                every=0.1,
            )
            time.sleep(rng.uniform(0.0, 1.2))  # a random point: mid-batch, mid-write, mid-commit
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
            proc = _start_sink(stream_settings, log)
        wait_for(streamed.is_set, 60, "the stream to end")
        wait_for(
            lambda: store_counts(stream_settings.data_dir)[1] >= N, 120, "all events", every=2.0
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    raw, unique = store_counts(stream_settings.data_dir)
    print(f"{kills} kills; {raw} rows on disk, {unique} unique")
    assert unique == N
    assert kills == KILLS
    # what mining reads: the deduplicated view holds each source event exactly once
    con = EventStore(stream_settings.data_dir).connect()
    ids = con.sql("SELECT event_id, count(*) FROM events GROUP BY event_id").fetchall()
    assert len(ids) == N and all(n == 1 for _, n in ids)
    assert {i for i, _ in ids} == {e["event_id"] for e in events}
    files = EventStore(stream_settings.data_dir).files()
    # no temp file of an interrupted write is ever read as data
    assert all(not p.name.startswith(".") for p in files)
    # the sinks compacted on their own (DVCFLOW_COMPACT_MIN_FILES=6), kills or not
    assert any(p.name.startswith("compact-") for p in files)


def test_sigterm_writes_the_batch_in_hand_and_commits(
    stream_settings: Settings, tmp_path: Path
) -> None:
    from confluent_kafka import Consumer, TopicPartition

    from ingest.health import read_stream_health

    events = make_events(500, seed=41)
    producer = Producer({"bootstrap.servers": stream_settings.kafka_bootstrap})
    for event in events:
        producer.produce(stream_settings.topic_events, orjson.dumps(event), event["case_id"])
    assert producer.flush(30) == 0
    slow = stream_settings
    log = tmp_path / "sink.log"
    proc = _start_sink(
        slow, log, DVCFLOW_SINK_BATCH_SECONDS="600", DVCFLOW_SINK_BATCH_SIZE="100000"
    )
    try:
        wait_for(
            lambda: read_stream_health(slow.data_dir)["events_consumed"] >= len(events),
            60,
            "the sink to hold the whole stream in hand",
        )
        assert store_counts(slow.data_dir) == (0, 0)  # nothing written yet: it is all pending
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert store_counts(slow.data_dir) == (len(events), len(events))
    consumer = Consumer(
        {"bootstrap.servers": slow.kafka_bootstrap, "group.id": slow.consumer_group}
    )
    try:
        parts = [TopicPartition(slow.topic_events, p) for p in range(4)]
        committed = consumer.committed(parts, timeout=10)
        # offsets start at 0 on a fresh topic: the committed ones add up to every message
        assert sum(max(tp.offset, 0) for tp in committed) == len(events)
    finally:
        consumer.close()
