"""Every real log of ../shared/real_logs imports whole (the counts of SOURCES.md) and
``analyze`` answers on it with default options, models and conformance included, within a
hang guard. A log with hundreds of activities gets a sound model, with fitness and
precision reported."""

from __future__ import annotations

import re

import pytest

from dvcflow.errors import InputFileError
from ingest.importers import ImportOptions, import_file
from ingest.pseudonym import Pseudonymizer
from mining.analysis import AnalysisOptions, analyze
from mining.discovery import ModelLimits, dfg_edges, inductive_model, variant_counts
from mining.filters import LogFilter
from mining.log import load_log
from tests.conftest import REAL_LOGS, TEST_KEY, real_log
from tests.mining.conftest import UNTIMED, corpus_names

pytestmark = [pytest.mark.xdist_group("real_logs")]


def sources_counts() -> dict[str, tuple[int, int]]:
    """(cases, events) per file, read from the tables of SOURCES.md."""
    text = (REAL_LOGS / "SOURCES.md").read_text()
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 4 and cells[3].isdigit() and cells[4].isdigit():
            out[cells[0]] = (int(cells[3]), int(cells[4]))
    return out


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", corpus_names())
def test_every_event_imported_and_analyze_answers(name, real_store):
    real = real_store(name)
    cases, events = sources_counts()[name]
    assert real.report.rejected == 0, real.report.errors
    got = real.store.connect().sql("SELECT count(DISTINCT case_id), count(*) FROM events")
    assert got.fetchone() == (cases, events)

    result = analyze(real.store, LogFilter(procedure=real.procedure), AnalysisOptions(),
                     use_cache=False)  # fmt: skip
    assert result["events"] == events and result["cases"]["count"] == cases
    model = result["models"]["inductive"]
    assert model["algorithm"] in ("IM", "IMf", "IMd") and model["filter"]
    assert model["activities_kept"] <= ModelLimits.from_settings().max_activities
    assert model["quality"]["fitness"] is not None


def test_a_log_without_timestamps_is_refused_naming_what_is_missing(store):
    path = real_log(UNTIMED)
    with pytest.raises(InputFileError, match=re.escape(str(path))) as refused:
        import_file(path, store, ImportOptions(), pseudonymizer=Pseudonymizer(TEST_KEY.encode()))
    assert "no timestamp column" in str(refused.value) and "time:timestamp" in str(refused.value)
    assert "--order-as-time" in str(refused.value)


def test_a_log_without_timestamps_analysed_in_file_order_equals_pm4py(store):
    """--order-as-time: every event kept, times from the position in the file (flagged);
    the DFG, start activities and variants equal pm4py's on the same file's traces."""
    import pm4py

    path = real_log(UNTIMED)
    report = import_file(path, store, ImportOptions(procedure="untimed", order_as_time=True),
                         pseudonymizer=Pseudonymizer(TEST_KEY.encode()))  # fmt: skip
    cases, events = sources_counts()[UNTIMED]
    assert report.written == events and report.rejected == 0
    assert any("--order-as-time" in n and "durations mean nothing" in n for n in report.notes)
    con = load_log(store, LogFilter(procedure="untimed"))
    try:
        flags = store.connect().sql(
            "SELECT count(*) FROM events WHERE attributes->>'time_from_order' = 'true'"
        ).fetchone()[0]
        assert flags == events
        log = pm4py.read_xes(str(path), variant="iterparse", return_legacy_log_object=True,
                             show_progress_bar=False)  # fmt: skip
        assert len(log) == cases
        dfg, start, _end = pm4py.discover_dfg(log)
        assert {(e["source"], e["target"]): e["count"] for e in dfg_edges(con)} == dict(dfg)
        starts = con.execute("SELECT trace[1], count(*) FROM cases GROUP BY ALL").fetchall()
        assert dict(starts) == dict(start)
        theirs = {tuple(e["concept:name"] for e in t): 0 for t in log}
        for t in log:
            theirs[tuple(e["concept:name"] for e in t)] += 1
        assert dict(variant_counts(con)) == theirs
    finally:
        con.close()


@pytest.mark.timeout(60)
def test_model_of_a_log_with_hundreds_of_activities_is_sound_and_measured(real_store):
    """BPIC15_1: 398 activities, almost every dossier its own variant (pm4py's default
    IMf runs for many minutes on it)."""
    import pm4py

    real = real_store("BPIC15_1.xes.gz")
    con = load_log(real.store, LogFilter(procedure=real.procedure))
    try:
        uvcl = variant_counts(con)
    finally:
        con.close()
    assert len({a for trace in uvcl for a in trace}) == 398
    # woflan's soundness check grows fast with the net: models of 15 activities, by both
    # of the miner's paths (IMf on the variants, IMd on the directly-follows graph)
    for limits in (ModelLimits(max_activities=15), ModelLimits(15, imf_max_activities=0)):
        model = inductive_model(uvcl, 0.2, limits)
        sound, _ = pm4py.check_soundness(model.net, model.initial_marking, model.final_marking)
        assert sound, model.algorithm
    assert model.algorithm == "IMd"
    result = analyze(real.store, LogFilter(procedure=real.procedure), use_cache=False)
    quality = result["models"]["inductive"]["quality"]
    assert 0 < quality["fitness"] <= 1
    assert quality["precision"] is None or 0 < quality["precision"] <= 1
    assert result["models"]["inductive"]["activities_total"] == 398
