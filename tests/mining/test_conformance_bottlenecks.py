"""Conformance against the catalog, service times, handoffs and the cache, on hand-made logs;
fitness is cross-checked with plain pm4py token replay on the same traces."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pm4py
import pytest

from mining.analysis import AnalysisOptions, analyze
from mining.bottlenecks import handoffs, service_times
from mining.cache import analysis_cache
from mining.conformance import conformance, reference_model
from mining.filters import LogFilter
from mining.log import load_log
from sample_logs.catalog import get_procedure
from tests.mining.conftest import event, write_rows

CODE = "2.001610"  # submit, receive, [supplement loop], pay_fee, check_business_name,
#                    appraise, approve, return_result, [withdraw]
FULL = [
    "submit",
    "receive",
    "pay_fee",
    "check_business_name",
    "appraise",
    "approve",
    "return_result",
]
TRACES = {
    "ok1": FULL,
    "ok2": FULL,
    "loop": FULL[:2] + ["request_supplement", "submit_supplement"] + FULL[2:],
    "skip": [a for a in FULL if a != "check_business_name"],  # skips a mandatory step
    "swap": FULL[:2] + ["check_business_name", "pay_fee"] + FULL[4:],  # pay_fee out of order
}


def rows_for(traces: dict[str, list[str]]) -> list[dict]:
    rows = []
    for k, (case, trace) in enumerate(traces.items()):
        t = datetime(2025, 7, 1, 8, 0) + timedelta(days=k)
        for i, act in enumerate(trace):
            last = i == len(trace) - 1
            rows.append(
                event(case, act, t + timedelta(hours=i), outcome="approved" if last else None)
            )
    return rows


def test_deviations_per_step(store):
    write_rows(store, rows_for(TRACES))
    con = load_log(store, LogFilter(procedure=CODE))
    conf = conformance(con, get_procedure(CODE))
    steps = {d["step"]: d for d in conf["steps"]}
    assert steps["check_business_name"]["skipped"] == 1
    assert steps["pay_fee"]["out_of_order"] == 1
    assert steps["check_business_name"]["out_of_order"] == 0
    assert sum(d["skipped"] for d in conf["steps"] if d["step"] != "check_business_name") == 0
    assert steps["withdraw"]["skipped"] == 0  # optional


def test_fitness_equals_pm4py_token_replay(store):
    write_rows(store, rows_for(TRACES))
    con = load_log(store, LogFilter(procedure=CODE))
    proc = get_procedure(CODE)
    conf = conformance(con, proc)
    df = pd.DataFrame(
        [
            {
                "case:concept:name": c,
                "concept:name": a,
                "time:timestamp": pd.Timestamp("2025-07-01", tz="UTC") + pd.Timedelta(hours=i),
            }
            for c, tr in TRACES.items()
            for i, a in enumerate(tr)
        ]
    )
    net, im, fm = reference_model(proc)
    theirs = pm4py.fitness_token_based_replay(df, net, im, fm)
    assert conf["fitness"] == pytest.approx(theirs["log_fitness"])
    assert conf["fitting_share"] == pytest.approx(theirs["perc_fit_traces"] / 100)
    assert conf["fitting_share"] == pytest.approx(3 / 5)


def test_service_time_and_handoffs(store):
    t = datetime(2025, 7, 1, 8, 0)
    rows = []
    for k in range(3):
        case, d = f"S{k}", t + timedelta(days=k)
        rows += [
            event(case, "submit", d, org_unit="C1"),
            event(case, "receive", d + timedelta(hours=1), lifecycle="start", org_unit="C1"),
            event(case, "receive", d + timedelta(hours=1, minutes=10 * (k + 1)), org_unit="C1"),
            event(case, "appraise", d + timedelta(hours=5 + k), org_unit="P79.SKHDT"),
            event(case, "return_result", d + timedelta(hours=9), outcome="approved"),
        ]
    write_rows(store, rows)
    con = load_log(store, LogFilter())
    svc = {s["activity"]: s for s in service_times(con)}
    assert set(svc) == {"receive"}
    assert svc["receive"]["count"] == 3
    assert svc["receive"]["median_s"] == pytest.approx(20 * 60)
    # wait before receive is counted from submit's end to receive's *start* (1 h each)
    waits = con.execute("SELECT wait_s FROM steps WHERE activity = 'receive'").fetchall()
    assert [w[0] for w in waits] == [3600.0] * 3
    top = handoffs(con)[0]
    assert (top["from_unit"], top["to_unit"]) == ("C1", "P79.SKHDT")
    # receive ends at 1h10/1h20/1h30, appraise at 5h/6h/7h
    expected = [(5 - 1 - 10 / 60) * 3600, (6 - 1 - 20 / 60) * 3600, (7 - 1.5) * 3600]
    assert top["total_s"] == pytest.approx(sum(expected))
    assert top["count"] == 3


def test_analysis_is_cached_by_store_version(store):
    write_rows(store, rows_for({"a": FULL}))
    flt, opts = LogFilter(procedure=CODE), AnalysisOptions(discover=False)
    first = analyze(store, flt, opts)
    assert analyze(store, flt, opts) is first  # asked again: served from the cache
    write_rows(store, rows_for({"b": FULL}), name="more")
    again = analyze(store, flt, opts)
    assert again is not first and again["cases"]["count"] == 2
    assert analysis_cache().hits >= 1


def test_work_in_progress_counts_open_dossiers_per_day(store):
    from mining.bottlenecks import work_in_progress

    spans = {"w1": (1, 3), "w2": (2, 2), "w3": (2, None)}  # day received, day finished
    rows = []
    for case, (a, b) in spans.items():
        rows.append(event(case, "submit", datetime(2025, 7, a, 9, 0)))
        if b is not None:
            rows.append(event(case, "return_result", datetime(2025, 7, b, 16, 0), outcome="ok"))
    write_rows(store, rows)
    con = load_log(store, LogFilter())
    series = {p["period"].day: p["open"] for p in work_in_progress(con)["series"]}
    for day in series:
        expected = sum(a <= day and (b is None or day <= b) for a, b in spans.values())
        assert series[day] == expected, day
    assert series[2] == 3


def test_analyses_run_beside_the_main_connection_count_local_days(store):
    """``analyze`` runs the bottlenecks on a second cursor; its days must still be the
    procedures' local days (a session setting), not the machine's (UTC in CI)."""
    from tests.mining.conftest import VN

    just_after_midnight = datetime(2025, 7, 2, 0, 30, tzinfo=VN)  # 1 July 17:30 in UTC
    rows = [
        event("m1", "submit", just_after_midnight),
        event("m1", "return_result", just_after_midnight + timedelta(hours=2), outcome="ok"),
    ]
    write_rows(store, rows)
    wip = analyze(store, LogFilter(), use_cache=False)["bottlenecks"]["wip"]["series"]
    assert wip[0]["period"].isoformat() == "2025-07-02"
