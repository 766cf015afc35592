"""The facts planted in a generated log (ground_truth.json, measured on the written events)
are found again by the mining core."""

from __future__ import annotations

import pytest

from ingest.schema import conform_table
from ingest.store import EventStore
from mining.analysis import AnalysisOptions, analyze
from sample_logs.generator import generate

pytestmark = pytest.mark.xdist_group("generated")
OPTIONS = AnalysisOptions(discover=False, conformance=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    result = generate(["1.004193", "1.009974", "1.004222"], cases=6000, seed=11, out=None)
    store = EventStore(tmp_path_factory.mktemp("generated") / "data")
    store.write(conform_table(result.table), "generated")
    return store, result.ground_truth


def test_planted_handoff_is_the_top_bottleneck_of_its_province_only(generated):
    from mining.filters import LogFilter

    store, truth = generated
    planted = truth["handoff_bottleneck"]
    pair = (planted["from_activity"], planted["to_activity"])
    result = analyze(store, LogFilter(procedure=planted["procedure"]), OPTIONS)
    by_province = result["bottlenecks"]["by_province"]
    assert len(by_province) > 1
    for province, ranked in by_province.items():
        top = ranked[0]
        if province == planted["province"]:
            assert (top["from_activity"], top["to_activity"]) == pair
            assert top["handoff"]  # commune police -> provincial social insurance
            hours = top["mean_s"] / 3600
            assert hours == pytest.approx(planted["mean_wait_hours_in_province"], rel=1e-3)
        else:
            assert (top["from_activity"], top["to_activity"]) != pair, province


def test_rework_share_within_two_points_of_the_planted_one(generated):
    from mining.filters import LogFilter

    store, truth = generated
    for code, share in truth["rework_share"].items():
        result = analyze(store, LogFilter(procedure=code), OPTIONS)
        assert result["rework"]["share"] == pytest.approx(share, abs=0.02), code
    # the supplement-heavy procedure really stands out
    loops = analyze(store, LogFilter(procedure="1.009974"), OPTIONS)["rework"]["supplements"]
    assert loops["share"] == pytest.approx(truth["supplement_loop"]["share_of_cases"], abs=0.02)
