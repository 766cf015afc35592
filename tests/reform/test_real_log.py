"""Reform on a real public log nobody here wrote (Italian road-traffic fines, 100 cases):
figures agree with plain pm4py, and nothing is claimed that the log cannot support."""

from __future__ import annotations

import pm4py
import pytest

from ingest.importers import ImportOptions, import_file
from mining.filters import LogFilter
from mining.reform import candidates, readiness, whatif
from tests.conftest import real_log

pytestmark = pytest.mark.xdist_group("reform")


@pytest.fixture(scope="module")
def road(tmp_path_factory):
    from ingest.store import EventStore

    path = real_log("roadtraffic100traces.xes")
    store = EventStore(tmp_path_factory.mktemp("road") / "data")
    import_file(path, store, ImportOptions(procedure="RTF", org_unit="RTF"))
    return store, pm4py.read_xes(str(path))


def test_candidate_evidence_and_cycle_time_agree_with_pm4py(road):
    store, log = road
    flt = LogFilter(procedure="RTF")
    ranked = candidates(store, flt)
    per_activity = log.groupby("concept:name")["case:concept:name"].nunique()
    got = {c["step"]: c["evidence"]["dossiers"] for c in ranked["candidates"]}
    assert got == per_activity.to_dict()
    # no catalog, no outcomes: nothing may be recommended for removal or data reuse
    assert {c["recommendation"] for c in ranked["candidates"]} == {"keep"}
    top = ranked["candidates"][0]["step"]
    result = whatif(store, flt, remove=[top])
    durations = pm4py.get_all_case_durations(log)
    assert result["baseline"]["cycle_hours_mean"] == pytest.approx(
        sum(durations) / len(durations) / 3600, rel=1e-6
    )


def test_full_online_is_not_judged_without_channels(road):
    store, _ = road
    proc = readiness(store, LogFilter(procedure="RTF"))["procedures"][0]
    assert proc["judged"] == 0 and proc["full_online_share"] is None
    assert proc["note"]["en"]
