"""The one-window ``steps`` (logs whose starts are directly followed by their completes)
gives exactly the rows of the general two-window pass, and is used only when it may be."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.store import EventStore
from mining.filters import LogFilter
from mining.log import _build_steps_general, _build_steps_sequential, load_log
from tests.mining.conftest import event, write_rows

COLUMNS = (
    "case_id, activity, org_unit, resource, channel, start_ts, end_ts, has_start, seq, "
    "service_s, prev_activity, prev_org_unit, prev_end_ts, wait_s, _row"
)
T0 = datetime(2025, 9, 1, 8)


def both_paths(store: EventStore) -> tuple[bool, list[tuple], list[tuple]]:
    """Whether the one-window path applied, its rows, and the general pass's rows."""
    con = load_log(store, LogFilter())
    try:
        sequential = _build_steps_sequential(con)
        fast = con.execute(f"SELECT {COLUMNS} FROM steps ORDER BY case_id, seq").fetchall()
        _build_steps_general(con)
        general = con.execute(f"SELECT {COLUMNS} FROM steps ORDER BY case_id, seq").fetchall()
        return sequential, fast, general
    finally:
        con.close()


def test_sequential_log_with_an_open_start_takes_one_window(tmp_path):
    rows = []
    for c, case in enumerate(["A", "B"]):
        t = T0 + timedelta(days=c)
        rows += [
            event(case, "submit", t),
            event(case, "appraise", t + timedelta(hours=1), lifecycle="start"),
        ]
        rows += [event(case, "appraise", t + timedelta(hours=3), org_unit="C00002")]
        rows += [event(case, "approve", t + timedelta(hours=5), lifecycle="start")]
    rows.append(event("A", "approve", T0 + timedelta(hours=9)))  # B's approval stays open
    sequential, fast, general = both_paths(write_rows(EventStore(tmp_path), rows))
    assert sequential
    assert fast == general
    by_case = {r[0]: r for r in fast if r[1] == "approve"}
    assert by_case["A"][6] is not None and by_case["B"][6] is None  # end_ts


def test_interleaved_starts_fall_back_to_the_general_pass(tmp_path):
    rows = [
        event("A", "check", T0, lifecycle="start"),
        event("A", "verify", T0 + timedelta(hours=1), lifecycle="start"),
        event("A", "check", T0 + timedelta(hours=2)),
        event("A", "verify", T0 + timedelta(hours=3)),
    ]
    sequential, fast, general = both_paths(write_rows(EventStore(tmp_path), rows))
    assert not sequential
    assert [r[1] for r in general] == ["check", "verify"]
    assert all(r[7] for r in general)  # both instances paired with their start


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(["start", "complete"]),
        st.sampled_from(["C1", "C2"]),
    ),
    min_size=1,
    max_size=7,
)


@settings(max_examples=40, deadline=None)
@given(
    cases=st.lists(EVENTS, min_size=1, max_size=4),
    gaps=st.lists(st.integers(0, 90), min_size=30, max_size=30),
)
def test_any_log_gives_the_general_rows(tmp_path_factory, cases, gaps):
    """Equal gaps of 0 make ties (ordered by event id) and repeated ids (deduplicated)."""
    rows = []
    for c, events in enumerate(cases):
        t = T0 + timedelta(days=c)
        for i, (activity, lifecycle, unit) in enumerate(events):
            t += timedelta(minutes=gaps[i])
            rows.append(event(f"K{c}", activity, t, lifecycle=lifecycle, org_unit=unit))
    store = write_rows(EventStore(tmp_path_factory.mktemp("steps")), rows)
    sequential, fast, general = both_paths(store)
    if sequential:
        assert fast == general
    con = load_log(store, LogFilter())  # whichever path load_log takes, the general rows
    try:
        got = con.execute(f"SELECT {COLUMNS} FROM steps ORDER BY case_id, seq").fetchall()
    finally:
        con.close()
    assert got == general
