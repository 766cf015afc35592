"""The log holds each event once, whether or not the store repeats event ids: the dedup
window is skipped only when no id repeats, and that answer follows the store's version."""

from __future__ import annotations

from datetime import datetime

import orjson

from ingest.store import EventStore
from mining.filters import LogFilter
from mining.log import load_log
from tests.mining.conftest import event, write_rows

STEPS = ["submit", "receive", "appraise", "approve", "return_result"]


def rows(case: str, day: int) -> list[dict]:
    out = [event(case, a, datetime(2025, 9, day, 8 + i)) for i, a in enumerate(STEPS)]
    out[-1]["outcome"] = "approved"
    return out


def counts(store: EventStore) -> tuple[int, int, list[int]]:
    con = load_log(store, LogFilter())
    try:
        events = con.execute("SELECT count(*) FROM log").fetchone()[0]
        distinct = con.execute("SELECT count(DISTINCT event_id) FROM log").fetchone()[0]
        q = "SELECT ord FROM log WHERE case_id = 'A' ORDER BY ord"
        ords = [r[0] for r in con.execute(q).fetchall()]
        return events, distinct, ords
    finally:
        con.close()


def test_repeated_ids_appear_once_before_and_after_a_redelivery(tmp_path):
    store = write_rows(EventStore(tmp_path), rows("A", 3) + rows("B", 4), "first")
    assert counts(store) == (10, 10, [1, 2, 3, 4, 5])  # no repeats: the plain scan
    # a producer retry lands as another file with the same event ids (new store version)
    write_rows(store, rows("A", 3), "retry")
    assert len(store.files()) == 2
    assert counts(store) == (10, 10, [1, 2, 3, 4, 5])
    # and a batch repeating an id inside itself
    write_rows(store, rows("C", 5) + rows("C", 5)[:2], "self-repeat")
    events, distinct, _ = counts(store)
    assert events == distinct == 15


def test_the_answer_is_kept_beside_the_store_per_version(tmp_path):
    from ingest import store_facts

    store = write_rows(EventStore(tmp_path), rows("A", 3) + rows("B", 4), "first")
    counts(store)
    path = store.root / store_facts.FACTS_FILE
    no = {"repeated_ids": False, "same_time": False, "due_dates": False, "source_order": True}
    assert orjson.loads(path.read_bytes()) == {f"{store.version()}|*": no}

    write_rows(store, rows("A", 3), "retry")
    store_facts._FACTS.clear()  # as a new process
    counts(store)
    saved = orjson.loads(path.read_bytes())
    key = f"{store.version()}|*"
    assert len(saved) == 2 and saved[key] == {
        "repeated_ids": True,
        "same_time": True,
        "due_dates": False,
        "source_order": True,
    }

    # a new process trusts the file and does not count again: shown by a planted answer
    saved[key] = {
        "repeated_ids": False,
        "same_time": True,
        "due_dates": False,
        "source_order": True,
    }
    path.write_bytes(orjson.dumps(saved))
    store_facts._FACTS.clear()
    events, distinct, _ = counts(store)
    assert events == 15 and distinct == 10
    store_facts._FACTS.clear()


def test_log_view_rows_match_the_store_rows(tmp_path):
    """``log`` joins the wide columns back by row position: every row must be the store's
    row of that event id, with or without the dedup window."""
    base = rows("A", 3) + rows("B", 4)
    for i, r in enumerate(base):
        r["attributes"] = orjson.dumps({"n": i}).decode()
    store = write_rows(EventStore(tmp_path), base, "first")
    write_rows(store, base[:2] + rows("C", 5), "retry")  # a redelivery, and new events
    cols = "event_id, case_id, activity, timestamp, lifecycle, attributes"
    expected = sorted(
        tuple(r[c] for c in cols.split(", "))
        for r in store.read_table().select(cols.split(", ")).to_pylist()
    )
    con = load_log(store, LogFilter())
    try:
        got = sorted(con.execute(f"SELECT {cols} FROM log").fetchall())
    finally:
        con.close()
    assert len(got) == 15 and got == expected


def test_ties_in_a_dossier_keep_the_source_order(tmp_path):
    """Two steps of a dossier at the same moment: their order in the source
    (``source_order``) orders them, whatever their event ids say."""
    from ingest import store_facts

    when = datetime(2025, 9, 3, 10)
    tied = [event("T", "approve", when), event("T", "appraise", when)]
    every = rows("A", 3) + tied
    for position, row in enumerate(every):
        row["source_order"] = position
    store = write_rows(EventStore(tmp_path), every, "first")
    con = load_log(store, LogFilter())
    try:
        order = con.execute("SELECT activity FROM log WHERE case_id = 'T' ORDER BY ord").fetchall()
        trace = con.execute("SELECT trace FROM cases WHERE case_id = 'T'").fetchone()[0]
    finally:
        con.close()
    assert [r[0] for r in order] == trace == ["approve", "appraise"]  # not by event id
    saved = orjson.loads((store.root / store_facts.FACTS_FILE).read_bytes())
    assert saved[f"{store.version()}|*"]["same_time"] is True


def test_ties_without_source_order_fall_back_to_event_id(tmp_path):
    """Rows with no ``source_order`` (stores written before it existed): start before
    complete, then ``event_id``, a stable order."""
    when = datetime(2025, 9, 3, 10)
    tied = [event("T", "approve", when), event("T", "appraise", when)]
    store = write_rows(EventStore(tmp_path), rows("A", 3) + tied, "first")
    con = load_log(store, LogFilter())
    try:
        trace = con.execute("SELECT trace FROM cases WHERE case_id = 'T'").fetchone()[0]
    finally:
        con.close()
    assert trace == ["appraise", "approve"]
