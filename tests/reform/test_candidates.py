"""The planted removable step is found, recommended and its saving measured."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dvcflow.errors import DvcflowError
from mining.filters import LogFilter
from mining.reform import candidates, whatif

pytestmark = pytest.mark.xdist_group("reform")


@pytest.fixture(scope="module")
def planted(generated):
    return generated.truth["removable_step"]


@pytest.fixture(scope="module")
def ranked(generated, planted):
    return candidates(generated.store, LogFilter(procedure=planted["procedure"]))


def test_planted_step_is_the_top_candidate_replaced_by_data(ranked, planted):
    json.dumps(ranked)  # plain JSON for the read API and the dashboard
    top = ranked["candidates"][0]
    assert top["step"] == planted["step"]
    assert top["recommendation"] == "replace_by_data"
    assert top["replaceable_by_data"] == planted["replaceable_by_data"]
    assert top["reasons"] and all(r["vi"] and r["en"] for r in top["reasons"])
    # the evidence is measured, not copied: failure rate and frequency match the log's
    assert top["evidence"]["failure_rate"] == pytest.approx(planted["failure_rate"], abs=0.01)
    assert top["evidence"]["dossiers"] == planted["cases_with_step"]


def test_candidate_evidence_matches_an_independent_count(generated, ranked, planted):
    raw = pd.read_parquet(generated.events)
    raw = raw[raw["procedure_code"] == planted["procedure"]]
    per_step = raw[raw["lifecycle"] != "start"].groupby("activity")["case_id"].nunique()
    cases = raw["case_id"].nunique()
    for cand in (c for c in ranked["candidates"] if c["kind"] == "step"):
        assert cand["evidence"]["dossiers"] == per_step[cand["step"]], cand["step"]
        assert cand["evidence"]["dossier_share"] == pytest.approx(
            per_step[cand["step"]] / cases, abs=1e-4
        )


def test_whatif_saving_is_within_ten_percent_of_the_planted_effect(generated, planted):
    result = whatif(
        generated.store, LogFilter(procedure=planted["procedure"]), remove=[planted["step"]]
    )
    json.dumps(result)
    expected = planted["mean_saving_hours"]
    assert result["affected_dossiers"] == planted["cases_with_step"]
    assert result["saving_hours_per_affected_dossier"] == pytest.approx(expected, rel=0.10)
    base, new = result["baseline"], result["scenario"]
    assert new["cycle_working_days"]["median"] < base["cycle_working_days"]["median"]
    assert new["on_time_rate"] >= base["on_time_rate"]
    assert result["assumptions"] and result["units"]


def test_whatif_cycle_time_equals_an_independent_replay(generated, planted):
    """Mean cycle hours after removal = mean over finished dossiers of (last - first event)
    minus, where the step occurs, its completion minus the previous completion."""
    proc, step = planted["procedure"], planted["step"]
    result = whatif(generated.store, LogFilter(procedure=proc), remove=[step])
    raw = pd.read_parquet(generated.events)
    raw = raw[raw["procedure_code"] == proc].copy()
    raw["ts"] = pd.to_datetime(raw["timestamp"], utc=True, format="ISO8601")
    finished = set(raw.loc[raw["outcome"].notna(), "case_id"])
    span = raw.groupby("case_id")["ts"].agg(lambda t: (t.max() - t.min()).total_seconds() / 3600)
    done = raw[raw["lifecycle"] != "start"].sort_values(["case_id", "ts"])
    done["prev"] = done.groupby("case_id")["ts"].shift(1)
    hit = done[done["activity"] == step]
    cut = ((hit["ts"] - hit["prev"]).dt.total_seconds() / 3600).groupby(hit["case_id"]).sum()
    new_span = span.sub(cut, fill_value=0.0)
    keep = sorted(finished)
    assert result["baseline"]["cycle_hours_mean"] == pytest.approx(span[keep].mean(), rel=1e-3)
    assert result["scenario"]["cycle_hours_mean"] == pytest.approx(new_span[keep].mean(), rel=1e-3)


def test_automating_saves_no_more_than_removing(generated, planted):
    flt = LogFilter(procedure=planted["procedure"])
    removed = whatif(generated.store, flt, remove=[planted["step"]])
    automated = whatif(generated.store, flt, automate=[planted["step"]])
    assert automated["saving_hours_per_affected_dossier"] > 0
    assert (
        automated["saving_hours_per_affected_dossier"]
        <= removed["saving_hours_per_affected_dossier"]
    )


def test_whatif_names_an_unknown_step(generated, planted):
    with pytest.raises(DvcflowError, match="no_such_step"):
        whatif(generated.store, LogFilter(procedure=planted["procedure"]), remove=["no_such_step"])
