"""Files are not held to the stream's attribute caps: every event of a log with wide trace
attributes is kept, trace attributes are stored once per dossier, and a failed write leaves
nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.importers import ImportOptions, import_file
from ingest.pseudonym import Pseudonymizer
from ingest.store import EventStore
from tests.conftest import TEST_KEY

PSEUDO = Pseudonymizer(TEST_KEY.encode())


def wide_xes(path: Path, traces: int, events: int, trace_attrs: int) -> Path:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">']
    for t in range(traces):
        parts.append(f'<trace><string key="concept:name" value="case-{t}"/>')
        parts += [f'<string key="attr{k:03d}" value="v{t}-{k}"/>' for k in range(trace_attrs)]
        for e in range(events):
            parts.append(
                f'<event><string key="concept:name" value="step{e}"/>'
                f'<date key="time:timestamp" value="2024-01-0{1 + e}T08:00:00+07:00"/>'
                f'<int key="n" value="{e}"/></event>'
            )
        parts.append("</trace>")
    parts.append("</log>")
    path.write_text("\n".join(parts))
    return path


def test_a_log_with_200_trace_attributes_keeps_every_event(tmp_path, store: EventStore):
    path = wide_xes(tmp_path / "wide.xes", traces=12, events=5, trace_attrs=200)
    report = import_file(path, store, ImportOptions(), pseudonymizer=PSEUDO)
    assert (report.rejected, report.written) == (0, 60)
    con = store.connect()
    assert con.sql("SELECT count(*), count(DISTINCT case_id) FROM events").fetchone() == (60, 12)
    rows = con.sql("SELECT case_id, attributes FROM case_attributes ORDER BY case_id").fetchall()
    assert len(rows) == 12
    attrs = json.loads(dict(rows)["case-3"])
    assert len(attrs) == 200 and attrs["attr199"] == "v3-199"
    # not copied onto the events
    per_event = con.sql("SELECT max(length(attributes)) FROM events").fetchone()[0]
    assert per_event < 50


def test_events_above_the_stream_caps_are_kept_and_reported(tmp_path, store: EventStore):
    rows = ["case_id,activity,timestamp," + ",".join(f"x{k}" for k in range(80))]
    rows += [f"c{i},a{i},2024-01-01T08:00:0{i}+07:00," + ",".join("1" * 80) for i in range(3)]
    path = tmp_path / "wide_events.csv"
    path.write_text("\n".join(rows))
    report = import_file(path, store, ImportOptions(max_attributes=64), pseudonymizer=PSEUDO)
    assert (report.rejected, report.written) == (0, 3)
    assert any("above the stream's caps" in n for n in report.notes)


def test_a_failed_write_leaves_no_partial_result(tmp_path, store: EventStore, monkeypatch):
    path = wide_xes(tmp_path / "two_months.xes", traces=3, events=5, trace_attrs=2)
    import ingest.store as store_module

    real_stage, calls = store_module._stage, []

    def failing_stage(table, target):
        calls.append(target)
        if len(calls) == 2:  # the second partition file fails (disk full, say)
            raise OSError("disk full")
        return real_stage(table, target)

    monkeypatch.setattr(store_module, "_stage", failing_stage)
    with pytest.raises(OSError):
        import_file(path, store, ImportOptions(), pseudonymizer=PSEUDO)
    leftovers = [p for p in store.data_dir.rglob("*") if p.is_file()]
    assert store.files() == [] and leftovers == []
