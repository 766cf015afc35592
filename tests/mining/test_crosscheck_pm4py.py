"""The SQL figures equal plain pm4py's on every real public log, read straight from the
file by pm4py and imported by ``dvcflow import``: DFG counts, performance DFG, variants and
case durations. pm4py keeps the file's order for events of equal timestamp; so must we
(``source_order``), whatever the event ids are."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pm4py
import pytest

from ingest.importers import ImportOptions, import_file
from mining.discovery import dfg_edges, variant_counts
from mining.filters import LogFilter
from mining.log import load_log
from tests.conftest import TEST_KEY
from tests.mining.conftest import RealLog, corpus_names

pytestmark = [pytest.mark.xdist_group("real_logs"), pytest.mark.timeout(120)]


def complete_events(df: pd.DataFrame) -> pd.DataFrame:
    """pm4py's view of the activity instances: a log that records starts pairs each with its
    complete, so both sides count completions (dvcflow's steps) ."""
    if "lifecycle:transition" not in df.columns:
        return df
    lc = df["lifecycle:transition"].astype(str).str.lower()
    if not (lc == "start").any():
        return df
    if not lc.isin(["start", "complete"]).all():
        pytest.skip(
            "lifecycles besides start/complete (e.g. BPIC12's schedule): dvcflow pairs "
            "start with complete into activity instances, pm4py counts events"
        )
    return df[lc != "start"]


@pytest.fixture(scope="module", params=corpus_names())
def loaded(request, real_store):
    real: RealLog = real_store(request.param)
    con = load_log(real.store, LogFilter(procedure=real.procedure))
    yield real, con
    con.close()


def test_dfg_edge_counts_identical(loaded):
    real, con = loaded
    dfg, start, end = pm4py.discover_dfg(complete_events(real.df))
    mine = {(e["source"], e["target"]): e["count"] for e in dfg_edges(con)}
    assert mine == dict(dfg)
    starts = dict(con.execute("SELECT trace[1], count(*) FROM cases GROUP BY ALL").fetchall())
    assert starts == dict(start)


def test_edge_waiting_times_equal_pm4py_performance_dfg(loaded):
    real, con = loaded
    if complete_events(real.df) is not real.df:
        pytest.skip("start events: dvcflow waits from the previous end to the next start")
    perf, _, _ = pm4py.discover_performance_dfg(real.df)
    mine = {(e["source"], e["target"]): e for e in dfg_edges(con)}
    assert set(mine) == set(perf)
    for edge, stats in perf.items():
        assert math.isclose(mine[edge]["mean_s"], stats["mean"], rel_tol=1e-9, abs_tol=1e-6)
        assert math.isclose(mine[edge]["median_s"], stats["median"], rel_tol=1e-9, abs_tol=1e-6)


def test_variant_counts_identical(loaded):
    real, con = loaded
    theirs = {tuple(v): n for v, n in pm4py.get_variants(complete_events(real.df)).items()}
    assert dict(variant_counts(con)) == theirs


def test_case_durations_identical(loaded):
    real, con = loaded
    theirs = sorted(pm4py.get_all_case_durations(real.df))
    mine = [r[0] for r in con.execute("SELECT duration_s FROM cases ORDER BY 1").fetchall()]
    assert len(mine) == len(theirs)
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(mine, theirs, strict=True))


def test_a_log_whose_dossiers_share_one_timestamp_keeps_file_order(tmp_path, store):
    """Every event of a dossier at the same instant, event ids that sort against the file
    order: the DFG, variants and performance DFG must still be pm4py's (file order)."""
    at = datetime(2024, 3, 1, 9, tzinfo=UTC)
    traces = {"c1": "adbce", "c2": "aebdc", "c3": "adbce", "c4": "ecba"}
    rows = [
        {"case_id": case, "activity": act, "timestamp": at.isoformat(),
         "event_id": f"{case}-{'zyxwv'[i]}"}  # ids in reverse of the file order
        for case, acts in traces.items() for i, act in enumerate(acts)
    ]  # fmt: skip
    path = tmp_path / "same_time.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    from ingest.pseudonym import Pseudonymizer

    report = import_file(
        path, store, ImportOptions(), pseudonymizer=Pseudonymizer(TEST_KEY.encode())
    )
    assert report.written == len(rows)
    df = pm4py.format_dataframe(
        pd.DataFrame(rows).assign(timestamp=pd.Timestamp(at)),
        case_id="case_id", activity_key="activity", timestamp_key="timestamp",
    )  # fmt: skip
    con = load_log(store, LogFilter())
    try:
        dfg, _, _ = pm4py.discover_dfg(df)
        assert {(e["source"], e["target"]): e["count"] for e in dfg_edges(con)} == dict(dfg)
        theirs = {tuple(v): n for v, n in pm4py.get_variants(df).items()}
        assert dict(variant_counts(con)) == theirs == {
            tuple("adbce"): 2, tuple("aebdc"): 1, tuple("ecba"): 1,
        }  # fmt: skip
        perf, _, _ = pm4py.discover_performance_dfg(df)
        assert {(e["source"], e["target"]): e["mean_s"] for e in dfg_edges(con)} == {
            k: v["mean"] for k, v in perf.items()
        }
    finally:
        con.close()
