"""``dvcflow sink`` killed with SIGKILL at random points, restarted: nothing lost or doubled.

Every wait is on a state the test can see: a sink's own health file (it owns partitions),
a new file in the store (it wrote), the store's contents. The stream comes in parts, one
released after each restart owns its partitions, so every restarted sink has work in hand
when it is killed however long the broker takes to hand partitions over (about 11 s on the
embedded Tansu after a SIGKILL, 3 s after a clean stop).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from dvcflow.settings import Settings
from ingest.health import read_stream_health, stream_dir
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


def _health_of(settings: Settings, pid: int) -> dict[str, Any] | None:
    """The health file of the sink process ``pid`` (None before its first report)."""
    for path in stream_dir(settings.data_dir).glob(f"sink-*-{pid}-*.json"):
        try:
            return orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None  # being replaced; the next look sees it
    return None


def _owns_partitions(settings: Settings, proc: subprocess.Popen[bytes], seen: set[str]) -> bool:
    """Has the sink ``proc`` been handed partitions? Records the stream statuses seen."""
    assert proc.poll() is None, f"the sink exited with {proc.returncode}"
    seen.add(read_stream_health(settings.data_dir)["status"])
    health = _health_of(settings, proc.pid)
    return bool(health and health["partitions"])


def _send(settings: Settings, events: list[dict]) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 20})
    for event in events:
        producer.produce(settings.topic_events, orjson.dumps(event), event["case_id"])
        producer.poll(0)
    assert producer.flush(30) == 0


def test_sigkill_and_restart_loses_and_doubles_nothing(
    stream_settings: Settings, tmp_path: Path
) -> None:
    rng = random.Random(2024)
    events = make_events(N, seed=31)
    size = -(-N // (KILLS + 1))
    parts = [events[i : i + size] for i in range(0, N, size)]  # one per sink that runs
    log = tmp_path / "sink.log"
    store = EventStore(stream_settings.data_dir)
    statuses: set[str] = set()

    kills = 0
    proc = _start_sink(stream_settings, log)
    try:
        for number, part in enumerate(parts):
            wait_for(
                lambda p=proc: _owns_partitions(stream_settings, p, statuses),
                90,
                f"sink {number} to own partitions",
                every=0.1,
            )
            before = store.version()
            _send(stream_settings, part)  # a backlog: it writes batch after batch
            if number == len(parts) - 1:
                break
            wait_for(  # a file added or replaced (stat only, no scan)
                lambda b=before: store.version() != b, 90, f"sink {number} to write", every=0.05
            )
            # not a wait: a random point in its backlog (mid-batch, -write, -commit, -compaction)
            time.sleep(rng.uniform(0.0, 0.6))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
            proc = _start_sink(stream_settings, log)
        try:
            wait_for(lambda: store_counts(stream_settings.data_dir)[1] >= N, 120, "all", every=1.0)
        except AssertionError as exc:
            raw, unique = store_counts(stream_settings.data_dir)
            raise AssertionError(f"{exc}: {unique} of {N} events stored ({raw} rows)") from None
        live = read_stream_health(stream_settings.data_dir)
        proc.send_signal(signal.SIGTERM)  # it runs: it reported owning partitions
        assert proc.wait(30) == 0, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    raw, unique = store_counts(stream_settings.data_dir)
    print(f"{kills} kills; {raw} rows on disk, {unique} unique; statuses seen {statuses}")
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
    # stream health: killed sinks are not live; a restarted one was seen rebalancing
    assert (live["status"], live["sinks_live"]) == ("ok", 1)
    assert "rebalancing" in statuses
    after = read_stream_health(stream_settings.data_dir)
    assert after["status"] == "stopped"
    # each sink counts the batches it committed: redelivered events are not counted twice
    print(f"events written by the sinks' own count: {after['events_written']}")
    assert after["events_written"] <= N


def test_sigterm_during_start_up_exits_cleanly(stream_settings: Settings, tmp_path: Path) -> None:
    """Stopped while still importing (a supervisor's restart, a test's teardown): exit 0."""
    log = tmp_path / "sink.log"
    proc = _start_sink(stream_settings, log)
    try:
        wait_for(  # the kernel's view: SIGTERM (bit 15) is caught, not default
            lambda: int(_status_field(proc.pid, "SigCgt"), 16) & (1 << (signal.SIGTERM - 1)),
            30,
            "the sink to catch SIGTERM",
            every=0.005,
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert "stopped during start-up" in log.read_text()
    assert _health_of(stream_settings, proc.pid) is None  # it never joined the group


def _status_field(pid: int, name: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split()[1]
    raise AssertionError(f"no {name} in /proc/{pid}/status")


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
