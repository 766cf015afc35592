"""Malformed events land in the DLQ with their reason and their bytes (scrubbed of raw
applicant ids); the stream goes on."""

from __future__ import annotations

import threading

import orjson
import pytest
from confluent_kafka import Producer

from dvcflow.settings import Settings
from ingest.health import read_stream_health
from ingest.pseudonym import Pseudonymizer
from ingest.sink import run_sink
from ingest.store import EventStore
from ingest.stream_scope import scrub
from tests.e2e.conftest import consume_all, make_events, store_counts, wait_for

pytestmark = pytest.mark.e2e


def test_malformed_events_go_to_the_dlq(stream_settings: Settings) -> None:
    valid = make_events(3_000, seed=21)
    base = make_events(1, seed=99)[0]
    bad: dict[str, tuple[bytes, str]] = {  # name -> (payload, field named in the reason)
        "bad_json": (b'{"event_id": "x", "case_id": ', "event"),
        "not_utf8": (b"\xff\xfe{}", "event"),
        "empty": (b"", "event"),
        "array": (b"[1, 2]", "event"),
        "missing_case": (
            orjson.dumps({k: v for k, v in base.items() if k != "case_id"}),
            "case_id",
        ),
        "missing_time": (
            orjson.dumps({k: v for k, v in base.items() if k != "timestamp"}),
            "timestamp",
        ),
        "naive_time": (orjson.dumps({**base, "timestamp": "2025-07-01T08:00:00"}), "timestamp"),
        "oversize_attrs": (
            orjson.dumps({**base, "attributes": {"note": "x" * 10_000}}),
            "attributes",
        ),
        "too_many_attrs": (
            orjson.dumps({**base, "attributes": {f"k{i}": i for i in range(100)}}),
            "attributes",
        ),
        "nested_attr": (orjson.dumps({**base, "attributes": {"a": {"b": 1}}}), "attributes"),
        "int_case": (orjson.dumps({**base, "case_id": 123}), "case_id"),
        "bad_lifecycle": (orjson.dumps({**base, "lifecycle": "middle"}), "lifecycle"),
        "bad_channel": (orjson.dumps({**base, "channel": "fax"}), "channel"),
        "unknown_field": (orjson.dumps({**base, "citizen_name": "Nguyễn Văn A"}), "citizen_name"),
    }
    producer = Producer({"bootstrap.servers": stream_settings.kafka_bootstrap})
    for i, event in enumerate(valid):
        producer.produce(stream_settings.topic_events, orjson.dumps(event), event["case_id"])
        if i % 300 == 0:  # malformed ones spread through the stream
            name = list(bad)[(i // 300) % len(bad)]
            payload = bad[name][0]
            producer.produce(stream_settings.topic_events, payload, f"bad-{name}".encode())
    for name in list(bad)[10 % len(bad) :]:
        producer.produce(stream_settings.topic_events, bad[name][0], f"bad-{name}".encode())
    assert producer.flush(30) == 0

    stop = threading.Event()
    sink = threading.Thread(target=run_sink, args=(stream_settings, stop), daemon=True)
    sink.start()
    try:
        wait_for(
            lambda: store_counts(stream_settings.data_dir)[1] >= len(valid),
            120,
            "valid events",
            every=1.0,
        )
        dlq = consume_all(stream_settings, stream_settings.topic_dlq, len(bad), timeout=60)
    finally:
        stop.set()
        sink.join(30)

    assert store_counts(stream_settings.data_dir) == (len(valid), len(valid))
    stored = set(EventStore(stream_settings.data_dir).read_table()["event_id"].to_pylist())
    assert stored == {e["event_id"] for e in valid}

    assert len(dlq) == len(bad)
    for message in dlq:
        name = message.key().decode().removeprefix("bad-")
        payload, field = bad[name]
        headers = dict(message.headers())
        scrubbed = scrub(payload, Pseudonymizer(stream_settings.require_pseudonym_key()))
        assert message.value() in (scrubbed, None if payload == b"" else scrubbed), name
        assert base["applicant_id"].encode() not in (message.value() or b""), name
        errors = orjson.loads(headers["dvc.error.errors"])
        assert any(e["field"].startswith(field) for e in errors), (name, errors)
        assert headers["dvc.error.reason"].decode()
        assert headers["dvc.source.topic"].decode() == stream_settings.topic_events
        assert int(headers["dvc.source.offset"]) >= 0
    health = read_stream_health(stream_settings.data_dir)
    assert health["dlq_count"] == len(bad)
    assert health["events_written"] == len(valid)
