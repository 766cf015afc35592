"""The derived rows are today's mining rows for the same events (a generated log, a real
one), and the columns the layer adds agree with independent computations: working days
with ``WorkCalendar``'s numpy arithmetic and a plain day-by-day count, supplement requests
with ``mining.deadlines``, rework with the trace itself."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow.parquet as pq
import pytest

from ingest.importers import ImportOptions, import_file
from ingest.pseudonym import Pseudonymizer
from ingest.schema import conform_table
from ingest.store import EventStore
from mining.deadlines import build_deadlines
from mining.derived import derive
from mining.filters import LogFilter
from mining.log import load_log
from sample_logs.generator import generate
from sample_logs.workdays import WorkCalendar
from tests.conftest import TEST_KEY, real_log
from tests.derived.helpers import MINING_CASE_COLUMNS, layer_con, layer_rows, mining_rows
from tests.mining.conftest import VN, event, write_rows

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def generated_store(tmp_path_factory) -> EventStore:
    result = generate(["1.004193", "1.009974"], cases=800, seed=8, out=None)
    store = EventStore(tmp_path_factory.mktemp("gen") / "data")
    store.write(conform_table(result.table), "generated")
    derive(store, rebuild=True)
    return store


def test_generated_log_rows_equal_mining_rows(generated_store):
    assert layer_rows(generated_store, MINING_CASE_COLUMNS) == mining_rows(generated_store)


def test_real_log_rows_equal_mining_rows(tmp_path):
    store = EventStore(tmp_path / "data")
    import_file(
        real_log("receipt.xes.gz"),
        store,
        ImportOptions(procedure="receipt"),
        pseudonymizer=Pseudonymizer(TEST_KEY.encode()),
    )
    first = store.files()[0]  # the same events stored twice, as a producer's retry does
    store.write(pq.read_table(first), "retried")
    derive(store, rebuild=True)
    cases, steps = layer_rows(store, MINING_CASE_COLUMNS)
    assert len(cases) > 1000  # the whole log, not a corner of it
    assert (cases, steps) == mining_rows(store)


def test_added_columns_agree_with_independent_computations(generated_store):
    con = layer_con(generated_store)
    rows = con.execute(
        "SELECT case_id, first_ts, last_ts, trace, reworked, supplement_requests, "
        "cycle_working_days FROM derived_cases ORDER BY case_id"
    ).fetchall()
    con.close()
    local = [(r[1].astimezone(TZ).replace(tzinfo=None), r[2].astimezone(TZ).replace(tzinfo=None))
             for r in rows]  # fmt: skip
    expected = WorkCalendar().working_days_between_arrays(
        np.array([a for a, _ in local], dtype="datetime64[us]"),
        np.array([b for _, b in local], dtype="datetime64[us]"),
    )
    assert [r[6] for r in rows] == pytest.approx(list(expected), abs=1e-9)
    assert [r[4] for r in rows] == [len(set(r[3])) < len(r[3]) for r in rows]
    assert any(r[4] for r in rows) and any(r[5] for r in rows)  # the log has both

    mined = load_log(generated_store, LogFilter())
    build_deadlines(mined, None)
    requests = dict(mined.execute("SELECT case_id, supplement_requests FROM deadlines").fetchall())
    mined.close()
    assert {r[0]: r[5] for r in rows} == requests


def test_cycle_working_days_skip_the_national_day_holiday(tmp_path):
    # Fri 29 Aug 2025 16:00 → Wed 3 Sep 10:00; Sat, Sun, Mon 1 and Tue 2 Sep are days off
    store = write_rows(EventStore(tmp_path / "data"), [
        event("A", "submit", datetime(2025, 8, 29, 16)),
        event("A", "approve", datetime(2025, 9, 3, 10), outcome="approved"),
    ])  # fmt: skip
    derive(store)
    con = layer_con(store)
    (days,) = con.execute("SELECT cycle_working_days FROM derived_cases").fetchone()
    con.close()
    off = {date(2025, 9, 1), date(2025, 9, 2)}
    a, b = datetime(2025, 8, 29, 16, tzinfo=VN), datetime(2025, 9, 3, 10, tzinfo=VN)
    total, day = 0.0, a.date()
    while day <= b.date():  # each working day's overlap with [a, b]
        if day.weekday() < 5 and day not in off:
            start = max(a, datetime(day.year, day.month, day.day, tzinfo=VN))
            end = min(b, datetime(day.year, day.month, day.day, tzinfo=VN) + timedelta(days=1))
            total += max((end - start).total_seconds(), 0) / 86400
        day += timedelta(days=1)
    assert days == pytest.approx(total) == pytest.approx(8 / 24 + 10 / 24)
