"""Real public logs import with the counts that pm4py (and a plain tag count) give.

Expected figures are computed here from the same file, never typed in: the store must hold
exactly what pm4py reads (cases, events, activity frequencies, first and last instant).
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from ingest.importers import ImportOptions, import_file
from ingest.pseudonym import Pseudonymizer
from ingest.store import EventStore
from tests.conftest import TEST_KEY, real_log

PSEUDO = Pseudonymizer(TEST_KEY.encode())


def xes_tag_counts(path: Path) -> tuple[int, int]:
    """Traces and events by counting the XML tags: independent of any XES parser."""
    opener = gzip.open if path.suffix == ".gz" else open
    traces = events = 0
    tail = b""
    with opener(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            data = tail + block
            traces += len(re.findall(rb"<trace[\s>]", data))
            events += len(re.findall(rb"<event[\s>]", data))
            tail = data[-16:]
            # a tag split across the block edge is counted in the next round only
            traces -= len(re.findall(rb"<trace[\s>]", tail))
            events -= len(re.findall(rb"<event[\s>]", tail))
    return traces, events


def pm4py_frame(path: Path, sep: str = ",") -> pd.DataFrame:
    import pm4py

    if ".xes" in path.name:
        return pm4py.read_xes(str(path))
    df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    case, act, ts = (
        ("case:concept:name", "concept:name", "time:timestamp")
        if "case:concept:name" in df.columns
        else ("case_id", "activity", "timestamp")
    )
    df[ts] = pd.to_datetime(df[ts], utc=True, format="ISO8601")
    return pm4py.format_dataframe(df, case_id=case, activity_key=act, timestamp_key=ts)


def store_figures(store: EventStore) -> dict:
    con = store.connect()
    cases, events, first, last = con.sql(
        "SELECT count(DISTINCT case_id), count(*), min(timestamp), max(timestamp) FROM events"
    ).fetchone()
    acts = dict(con.sql("SELECT activity, count(*) FROM events GROUP BY 1").fetchall())
    return {"cases": cases, "events": events, "first": first, "last": last, "acts": acts}


def pm4py_figures(df: pd.DataFrame) -> dict:
    ts = pd.to_datetime(df["time:timestamp"], utc=True)
    return {
        "cases": df["case:concept:name"].nunique(),
        "events": len(df),
        "first": ts.min().to_pydatetime(),
        "last": ts.max().to_pydatetime(),
        "acts": dict(Counter(df["concept:name"].astype(str))),
    }


@pytest.mark.parametrize(
    ("name", "sep"),
    [
        ("receipt.xes.gz", ","),
        ("BPIC15_1.xes.gz", ","),
        ("receipt.csv", ","),
        ("sepsis.csv", ";"),
        ("BPIC15_1_minimal.csv.gz", ","),
        ("running-example.csv", ","),
    ],
)
def test_real_log_matches_pm4py(name: str, sep: str, store: EventStore):
    path = real_log(name)
    report = import_file(path, store, ImportOptions(), pseudonymizer=PSEUDO)
    assert report.rejected == 0, report.errors
    got = store_figures(store)
    want = pm4py_figures(pm4py_frame(path, sep))
    assert got == want
    assert report.written == report.rows_read == want["events"]
    if ".xes" in name:
        assert (got["cases"], got["events"]) == xes_tag_counts(path)


def test_importing_twice_changes_nothing(store: EventStore):
    path = real_log("receipt.xes.gz")
    first = import_file(path, store, ImportOptions(), pseudonymizer=PSEUDO)
    files = sorted(p.relative_to(store.root) for p in store.files())
    figures = store_figures(store)
    second = import_file(path, store, ImportOptions(), pseudonymizer=PSEUDO)
    assert sorted(p.relative_to(store.root) for p in store.files()) == files
    assert store_figures(store) == figures
    assert first.written == second.written == figures["events"]
    # raw file rows on disk, not just after the dedup on read: nothing doubled
    con = store.connect()
    on_disk = con.sql(f"SELECT count(*) FROM read_parquet({[str(p) for p in store.files()]})")
    assert on_disk.fetchone()[0] == figures["events"]


@pytest.mark.slow
def test_full_road_traffic_fines_log(store: EventStore):
    """The biggest public-sector log: 150,370 fines, 561,470 events."""
    path = real_log("Road_Traffic_Fine_Management_Process.xes.gz")
    report = import_file(path, store, ImportOptions(), pseudonymizer=PSEUDO)
    assert report.rejected == 0, report.errors
    got = store_figures(store)
    assert (got["cases"], got["events"]) == xes_tag_counts(path)
    assert report.written == got["events"]
    lifecycle = dict(store.connect().sql("SELECT lifecycle, count(*) FROM events GROUP BY 1")
                     .fetchall())  # fmt: skip
    assert sum(lifecycle.values()) == got["events"]
