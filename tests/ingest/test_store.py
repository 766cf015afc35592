"""The store: atomic partitioned writes, dedup on read, idempotent rewrites, compaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest.schema import rows_to_table, validate_event
from ingest.store import EventStore


def _events(n: int, procedure: str = "1.001193", start: datetime | None = None) -> list[dict]:
    start = start or datetime(2025, 7, 30, 1, 0, tzinfo=UTC)
    return [
        {
            "event_id": f"{procedure}-e{i}",
            "case_id": f"c{i // 3}",
            "procedure_code": procedure,
            "activity": ["receive", "appraise", "return_result"][i % 3],
            "timestamp": (start + timedelta(days=i)).isoformat(),
            "org_unit": "X1",
            "applicant_id": f"0792030{i:05d}",
        }
        for i in range(n)
    ]


def _table(events, pseudonymizer):
    return rows_to_table(validate_event(e, pseudonymizer) for e in events)


def test_write_partitions_by_procedure_and_month(store: EventStore, pseudonymizer):
    table = _table(_events(6) + _events(3, "2.000001"), pseudonymizer)
    written = store.write(table, "batch-1")
    parts = sorted(str(p.relative_to(store.root).parent) for p in written)
    assert parts == [
        "procedure=1.001193/month=2025-07",
        "procedure=1.001193/month=2025-08",
        "procedure=2.000001/month=2025-07",
        "procedure=2.000001/month=2025-08",
    ]
    assert store.read_table().num_rows == 9


def test_rewriting_a_batch_and_duplicate_ids_never_double(store: EventStore, pseudonymizer):
    table = _table(_events(30), pseudonymizer)
    store.write(table, "batch-1")
    v1 = store.version()
    store.write(table, "batch-1")  # redelivery: same name, same file
    store.write(table.slice(0, 10), "batch-2")  # a producer retry: same event ids again
    assert store.version() != v1
    got = store.read_table()
    assert got.num_rows == 30
    assert sorted(got["event_id"].to_pylist()) == sorted(e["event_id"] for e in _events(30))


def test_the_dedup_window_runs_only_when_ids_repeat_in_the_files_read(
    store: EventStore, pseudonymizer
):
    store.write(_table(_events(9) + _events(6, "2.000001"), pseudonymizer), "batch-1")
    assert "QUALIFY" not in store.scan_sql()
    store.write(_table(_events(3, "2.000001"), pseudonymizer), "retry")  # repeats 3 ids
    assert "QUALIFY" in store.scan_sql()
    assert "QUALIFY" in store.scan_sql(procedures=["2.000001"])
    assert "QUALIFY" not in store.scan_sql(procedures=["1.001193"])  # its files repeat none
    assert store.read_table().num_rows == 15
    # the answer is about the files a reader passes, not what the folder holds by then
    first = [f for f in store.files() if f.name == "batch-1.parquet"]
    assert not store.facts(files=first).repeated_ids
    assert store.facts().repeated_ids


def test_compact_keeps_rows_and_drops_duplicates(store: EventStore, pseudonymizer):
    table = _table(_events(30), pseudonymizer)
    for i in range(4):
        store.write(table.slice(i * 5, 10), f"batch-{i}")
    before = sorted(store.read_table()["event_id"].to_pylist())
    stats = store.compact()
    assert stats.rows_after < stats.rows_before
    assert stats.files_after < stats.files_before
    assert sorted(store.read_table()["event_id"].to_pylist()) == before


def test_no_temp_files_are_read(store: EventStore, pseudonymizer):
    store.write(_table(_events(3), pseudonymizer), "b")
    part = store.files()[0].parent
    (part / ".half-written.parquet.123.tmp").write_bytes(b"garbage")
    assert store.read_table().num_rows == 3


def test_raw_applicant_id_never_stored(store: EventStore, pseudonymizer):
    events = _events(6)
    store.write(_table(events, pseudonymizer), "b")
    blob = b"".join(p.read_bytes() for p in store.files())
    for e in events:
        assert e["applicant_id"].encode() not in blob
    refs = store.read_table()["applicant_ref"].to_pylist()
    assert all(r.startswith("ar_") for r in refs)


def test_compaction_never_pulls_files_from_under_a_running_reader(store: EventStore, pseudonymizer):
    table = _table(_events(30, start=datetime(2025, 7, 1, 1, tzinfo=UTC)), pseudonymizer)
    for i in range(3):
        store.write(table.slice(i * 10, 10), f"batch-{i}")
    con = store.connect()  # a reader that listed the batch files before the swap
    store.compact()
    assert con.sql("SELECT count(*) FROM events").fetchone()[0] == 30
    assert [f.name[:8] for f in store.files()] == ["compact-"]  # new readers: merged file only
    assert store.read_table().num_rows == 30
    store.compact(grace_seconds=0)  # after the grace period the old files go
    assert len(list(store.files()[0].parent.glob("batch-*.parquet"))) == 0
    assert store.read_table().num_rows == 30


def test_a_batch_rewritten_after_compaction_is_live_again(store: EventStore, pseudonymizer):
    table = _table(_events(12, start=datetime(2025, 7, 1, 1, tzinfo=UTC)), pseudonymizer)
    store.write(table.slice(0, 6), "batch-0")
    store.write(table.slice(6, 6), "batch-1")
    store.compact()
    store.write(table.slice(0, 6), "batch-0")  # redelivered after the compaction
    assert len(store.files()) == 2
    assert store.read_table().num_rows == 12


def test_status_and_compact_verbs(store: EventStore, pseudonymizer):
    import orjson
    from typer.testing import CliRunner

    from dvcflow.cli import app

    table = _table(_events(30, start=datetime(2025, 7, 1, 1, tzinfo=UTC)), pseudonymizer)
    store.write(table.slice(0, 20), "a")
    store.write(table.slice(10, 20), "b")  # 10 duplicate event ids
    runner = CliRunner()
    args = ["--data-dir", str(store.data_dir)]
    done = runner.invoke(app, [*args, "status", "--json"])
    assert done.exit_code == 0, done.output
    info = orjson.loads(done.output)
    assert info["files"] == 2
    assert [(p["procedure_code"], p["events"], p["cases"]) for p in info["procedures"]] == [
        ("1.001193", 30, 10)
    ]
    done = runner.invoke(app, [*args, "compact"])
    assert done.exit_code == 0 and "40 → 30 rows" in done.output
    assert orjson.loads(runner.invoke(app, [*args, "status", "--json"]).output)["files"] == 1
