"""Several sinks in one consumer group share the partitions and write each event once."""

from __future__ import annotations

import threading

import orjson
import pytest
from confluent_kafka import Producer

from dvcflow.settings import Settings
from ingest.sink import Sink
from tests.e2e.conftest import make_events, store_counts, wait_for

pytestmark = pytest.mark.e2e


def test_two_sinks_share_the_partitions(stream_settings: Settings) -> None:
    events = make_events(6_000, seed=51)
    sinks = [Sink(stream_settings), Sink(stream_settings)]
    stop = threading.Event()
    threads = [threading.Thread(target=s.run, args=(stop,), daemon=True) for s in sinks]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: all(s.stats.partitions for s in sinks), 60, "both sinks to get partitions")
        producer = Producer({"bootstrap.servers": stream_settings.kafka_bootstrap})
        for event in events:
            producer.produce(stream_settings.topic_events, orjson.dumps(event), event["case_id"])
        assert producer.flush(30) == 0
        wait_for(
            lambda: store_counts(stream_settings.data_dir)[1] >= len(events),
            90,
            "all events",
            every=1.0,
        )
        owned = [set(s.stats.partitions) for s in sinks]
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert owned[0].isdisjoint(owned[1]) and owned[0] | owned[1] == {0, 1, 2, 3}
    assert all(s.stats.written > 0 for s in sinks)
    assert sum(s.stats.written for s in sinks) == len(events)
    assert store_counts(stream_settings.data_dir) == (len(events), len(events))
