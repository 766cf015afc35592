"""100,000 events replayed from a file through the real broker and sink, compared field by field."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from dvcflow.settings import Settings
from ingest.health import read_stream_health
from ingest.importers import ImportOptions
from ingest.pseudonym import Pseudonymizer
from ingest.replay import replay_file
from ingest.sink import run_sink
from ingest.store import EventStore
from tests.conftest import TEST_KEY
from tests.e2e.conftest import make_events, store_counts, wait_for, write_csv

pytestmark = pytest.mark.e2e

N = 100_000


def test_replay_100k_lands_exactly_once(stream_settings: Settings, tmp_path: Path) -> None:
    source = make_events(N, seed=11)
    path = write_csv(source, tmp_path / "log.csv")
    started = time.monotonic()
    report = replay_file(path, ImportOptions(), stream_settings)
    assert report.sent == N
    replayed_at = time.monotonic()

    stop = threading.Event()
    production_batches = stream_settings.model_copy(update={"sink_batch_size": 20_000})
    sink = threading.Thread(target=run_sink, args=(production_batches, stop), daemon=True)
    sink.start()
    try:
        wait_for(  # the sink's own counter: cheap to poll, unlike scanning the store
            lambda: read_stream_health(stream_settings.data_dir)["events_written"] >= N,
            240,
            "100,000 written events",
            every=1.0,
        )
    finally:
        stop.set()
        sink.join(30)
    assert not sink.is_alive(), "the sink did not stop after its batch"
    print(f"replay {replayed_at - started:.1f}s, sink {time.monotonic() - replayed_at:.1f}s")

    raw, unique = store_counts(stream_settings.data_dir)
    assert (raw, unique) == (N, N)
    stored = {
        r["event_id"]: r for r in EventStore(stream_settings.data_dir).read_table().to_pylist()
    }
    assert len(stored) == N
    assert all(r["source_order"] is not None for r in stored.values())  # its Kafka offset
    refs = Pseudonymizer(TEST_KEY.encode())
    for event in source:
        row = stored[event["event_id"]]
        for field in (
            "case_id",
            "procedure_code",
            "activity",
            "lifecycle",
            "org_unit",
            "province_code",
            "commune_code",
            "channel",
            "actor_role",
            "resource",
            "outcome",
        ):
            assert row[field] == event[field], (event["event_id"], field)
        assert row["timestamp"] == datetime.fromisoformat(event["timestamp"])
        assert row["applicant_ref"] == refs.ref(event["applicant_id"])
        assert event["applicant_id"] not in orjson.dumps(row).decode()
        assert orjson.loads(row["attributes"]) == event["attributes"]


def test_replay_keys_by_case_in_time_order(stream_settings: Settings, tmp_path: Path) -> None:
    """Within a partition (hence within a dossier) events arrive in timestamp order."""
    from tests.e2e.conftest import consume_all

    source = make_events(2_000, seed=3)
    shuffled = source[::-1]
    path = write_csv(shuffled, tmp_path / "reversed.csv")
    replay_file(path, ImportOptions(), stream_settings)
    messages = consume_all(stream_settings, stream_settings.topic_events, len(source))
    assert len(messages) == len(source)
    by_partition: dict[int, list[tuple[int, datetime]]] = {}
    partition_of_case: dict[str, int] = {}
    for m in messages:
        event = orjson.loads(m.value())
        assert m.key().decode() == event["case_id"]
        assert partition_of_case.setdefault(event["case_id"], m.partition()) == m.partition()
        ts = datetime.fromisoformat(event["timestamp"])
        by_partition.setdefault(m.partition(), []).append((m.offset(), ts))
    for items in by_partition.values():
        times = [ts for _, ts in sorted(items)]
        assert times == sorted(times)
