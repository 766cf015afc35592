"""Issue 19, High 2 on the stream path: an event id its source already stored with other
content is a conflict for the sink too (to the DLQ with the reason, as the gateway's 409),
whether the first copy came through this sink or was already on disk; the same content
again is a retry and doubles nothing."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import orjson
import pytest
from confluent_kafka import Producer

from dvcflow.settings import Settings
from ingest.broker import ensure_topics
from ingest.sink import run_sink
from ingest.store import EventStore
from tests.conftest import TEST_KEY
from tests.e2e.conftest import broker, consume_all, wait_for  # noqa: F401 (the fixture)
from tests.security.conftest import T0, dossiers, event, write

SOURCE = "key:int79"  # the gateway names the writer in this header after checking its key


@pytest.mark.e2e
def test_h2_the_sink_sends_a_conflict_with_a_stored_event_to_the_dlq(broker, tmp_path):  # noqa: F811
    tag = uuid.uuid4().hex[:8]
    own_topic = f"ev-{tag}.int79"
    settings = Settings(
        data_dir=tmp_path / "data",
        kafka_bootstrap=broker.bootstrap,
        topic_events=f"ev-{tag}",
        topic_dlq=f"dlq-{tag}",
        consumer_group=f"sink-{tag}",
        pseudonym_key=TEST_KEY,
        sink_batch_seconds=0.3,
        stream_producers={"int79": {"topic": own_topic, "provinces": ["79"]}},
    )
    ensure_topics(
        broker.client_config(), {settings.topic_events: 1, settings.topic_dlq: 1, own_topic: 1}
    )
    store = EventStore(settings.data_dir)
    # on disk before the sink starts: D05-5, sent by int79 through the gateway
    on_disk = event("D05", 5, "79", event_id="D05-5")
    write(store, dossiers(), "registered", T0, "key:seed")
    write(store, [on_disk], "earlier", T0 + timedelta(days=1), SOURCE)
    producer = Producer({"bootstrap.servers": broker.bootstrap})

    def send(topic: str, value: dict, key: bytes) -> None:
        headers = [("dvc.source", SOURCE.encode())] if topic == settings.topic_events else None
        producer.produce(topic, orjson.dumps(value), key, headers=headers)
        assert producer.flush(30) == 0

    ids = lambda: store.read_table()["event_id"].to_pylist()  # noqa: E731
    first = event("D06", 5, "79", event_id="D06-5")  # first through this very sink
    stop = threading.Event()
    sink = threading.Thread(target=run_sink, args=(settings, stop), daemon=True)
    sink.start()
    try:
        send(own_topic, first, b"first")
        wait_for(lambda: "D06-5" in ids(), 60, "the first copy of D06-5")
        send(own_topic, {**first, "activity": "refuse"}, b"changed-after-sink")
        send(settings.topic_events, {**on_disk, "outcome": "rejected"}, b"changed-on-disk")
        send(own_topic, first, b"retry")  # the same content again
        send(settings.topic_events, on_disk, b"retry-on-disk")
        send(own_topic, event("N79", 0, "79", event_id="N79-0"), b"last")
        wait_for(lambda: "N79-0" in ids(), 60, "the last event")
        dlq = consume_all(settings, settings.topic_dlq, 2, timeout=60)
    finally:
        stop.set()
        sink.join(30)
    reasons = {m.key(): dict(m.headers())["dvc.error.reason"].decode() for m in dlq}
    assert set(reasons) == {b"changed-after-sink", b"changed-on-disk"}, reasons
    assert all("already stored" in r and r.startswith("event_id") for r in reasons.values())
    # each identity once, with its first content; the changed copies are nowhere on disk
    kept = store.read_table("event_id IN ('D05-5', 'D06-5')").to_pylist()
    assert sorted((r["event_id"], r["activity"], r["outcome"]) for r in kept) == [
        ("D05-5", on_disk["activity"], on_disk["outcome"]),
        ("D06-5", first["activity"], first["outcome"]),
    ]
    raw = (
        store.connect()
        .sql(  # every stored row, before the dedup on read
            "SELECT activity, outcome FROM read_parquet($files) "
            "WHERE event_id IN ('D05-5', 'D06-5')",
            params={"files": [str(f) for f in store.files()]},
        )
        .fetchall()
    )
    assert ("refuse", first["outcome"]) not in raw and (on_disk["activity"], "rejected") not in raw
