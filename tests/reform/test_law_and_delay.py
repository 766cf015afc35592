"""Reform advice respects the law and goes after the delay where it is (issue 18).

On the generated log: the planted slow handoff (ground truth) is the top recommendation in
its province and absent elsewhere, and cutting it as advised saves what the ground truth
implies; no step the law requires is ever advised for removal or merge; the result cannot be
removed. On a hand-made log: cutting a wait to the other units' median equals a computation
by hand.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from statistics import median

import pytest
from typer.testing import CliRunner

from dvcflow.cli import app
from dvcflow.settings import get_settings
from mining.filters import LogFilter
from mining.reform import candidates, whatif
from mining.reform.whatif import Change, ScenarioError
from sample_logs.catalog import CatalogError, load_catalog, load_procedure
from tests.mining.conftest import event, write_rows

pytestmark = pytest.mark.xdist_group("reform")


@pytest.fixture(scope="module")
def handoff(generated_all) -> dict:
    return generated_all.truth["handoff_bottleneck"]


@pytest.fixture(scope="module")
def in_province(generated_all, handoff) -> dict:
    flt = LogFilter(procedure=handoff["procedure"], province=handoff["province"])
    return candidates(generated_all.store, flt)


def _is_planted(row: dict, handoff: dict) -> bool:
    return (
        row["kind"] in ("wait", "handoff")
        and row["from_step"] == handoff["from_activity"]
        and row["step"] == handoff["to_activity"]
    )


def test_planted_handoff_is_the_top_recommendation_in_its_province(in_province, handoff):
    json.dumps(in_province)
    top = in_province["candidates"][0]
    assert _is_planted(top, handoff), [(c["kind"], c["step"]) for c in in_province["candidates"]]
    assert top["kind"] == "handoff" and top["unit"] == handoff["province"]
    assert top["recommendation"] in ("interconnect", "automate_transfer")
    # its reason sets this province's wait against the others', in working days
    assert "ngày LV" in top["reasons"][0]["vi"] and "working days" in top["reasons"][0]["en"]
    assert top["saving"]["working_days_total"] == pytest.approx(
        top["saving"]["working_days_per_affected_dossier"] * top["saving"]["affected_dossiers"],
        rel=0.01,
    )


def test_cutting_the_planted_handoff_saves_what_the_ground_truth_implies(
    generated_all, in_province, handoff
):
    top = in_province["candidates"][0]
    flt = LogFilter(procedure=handoff["procedure"], province=handoff["province"])
    result = whatif(generated_all.store, flt, changes=[Change(**top["whatif"])])
    implied = handoff["mean_wait_hours_in_province"] - handoff["mean_wait_hours_elsewhere"]
    assert result["saving_hours_per_affected_dossier"] == pytest.approx(implied, rel=0.10)
    assert result["affected_dossiers"] == pytest.approx(handoff["cases_in_province"], abs=2)
    base, new = result["baseline"], result["scenario"]
    assert new["cycle_working_days"]["mean"] < base["cycle_working_days"]["mean"]
    assert new["on_time_rate"] > base["on_time_rate"]
    assert result["changes"][0]["cycle_working_days_mean_change"] < 0


def test_planted_handoff_is_absent_in_the_other_provinces(generated_all, handoff):
    others = [p for p in handoff["mean_wait_hours_by_province"] if p != handoff["province"]]
    assert others
    for province in others:
        flt = LogFilter(procedure=handoff["procedure"], province=province)
        rows = candidates(generated_all.store, flt)["candidates"]
        assert not [r for r in rows if _is_planted(r, handoff)], province


def test_no_required_step_is_advised_for_removal_or_merge(generated_all):
    catalog = load_catalog()
    filters = [LogFilter(procedure=code) for code in catalog]
    filters.append(LogFilter(procedure="1.009974", province="79"))  # the issue's example
    for flt in filters:
        proc = catalog[flt.procedure]
        rows = candidates(generated_all.store, flt)["candidates"]
        for row in rows:
            step = proc.step(row["step"])
            if step is None or not step.required:
                continue
            assert row["required"], (flt, row["step"])
            assert row["recommendation"] not in ("remove", "merge"), (flt, row["step"])
            if row["kind"] == "step" and row["recommendation"] != "keep":
                assert any(step.legal_basis in r["vi"] for r in row["reasons"]), row["step"]


def test_removing_the_result_step_is_refused(generated_all):
    for code, proc in load_catalog().items():
        with pytest.raises(ScenarioError, match="result"):
            whatif(generated_all.store, LogFilter(procedure=code), remove=[proc.result_step])


def test_cli_refuses_to_remove_the_result(generated_all, monkeypatch):
    monkeypatch.setenv("DVCFLOW_DATA_DIR", str(generated_all.store.data_dir))
    try:
        out = CliRunner().invoke(
            app, ["whatif", "--procedure", "1.004193", "--remove", "issue_insurance_card"]
        )
    finally:
        get_settings.cache_clear()
    assert out.exit_code != 0
    assert "cannot be removed" in out.output


def test_a_catalog_naming_an_unknown_result_step_is_refused_clearly(tmp_path):
    src = next(iter(sorted((get_settings().catalog_dir or _packaged()).glob("*.json"))))
    raw = json.loads(src.read_text(encoding="utf-8"))
    raw["result_step"] = "no_such_step"
    bad = tmp_path / src.name
    bad.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"result_step 'no_such_step' is not one of the steps"):
        load_procedure(bad)


def _packaged():
    from sample_logs.catalog import PACKAGED_DIR

    return PACKAGED_DIR


# --- a hand-made log: three provinces, one slow ---------------------------------------
PROC = "9.000001"  # not in the catalog: requirements are inferred
MONDAY = datetime(2026, 3, 2, 8, 0)  # a week without holidays: 24 h of it = 1 working day
WAITS = {"01": [3.0, 3.5, 2.5, 3.0], "79": [0.5, 1.0, 0.25], "48": [0.75, 1.5]}


def _dossier(case: str, province: str, wait_days: float) -> list[dict]:
    submitted = MONDAY
    transferred = submitted + timedelta(hours=1)
    decided = transferred + timedelta(days=wait_days)
    returned = decided + timedelta(hours=2)
    common = {"procedure": PROC, "province": province, "commune": None}
    return [
        event(case, "submit", submitted, org_unit=f"C{province}", **common),
        event(case, "transfer", transferred, org_unit=f"C{province}", **common),
        event(case, "decide", decided, org_unit=f"P{province}.SO", **common),
        event(case, "return", returned, org_unit=f"C{province}", outcome="approved", **common),
    ]


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory):
    from ingest.store import EventStore

    rows = []
    for province, waits in WAITS.items():
        for i, wait in enumerate(waits):
            rows += _dossier(f"{province}-{i}", province, wait)
    return write_rows(EventStore(tmp_path_factory.mktemp("waits") / "data"), rows)


def test_cut_to_the_other_units_median_equals_a_computation_by_hand(hand_made):
    change = Change("cut_wait", "decide", unit="01", from_step="transfer", target="peer_median")
    result = whatif(hand_made, LogFilter(procedure=PROC, province="01"), changes=[change])

    target = median(WAITS["79"] + WAITS["48"])  # the other units' waits, pooled
    assert result["changes"][0]["target_working_days"] == pytest.approx(target)
    cycle = [1 + 24 * w + 2 for w in WAITS["01"]]  # hours from submit to return
    cut = [24 * max(w - target, 0.0) for w in WAITS["01"]]
    base_mean = sum(cycle) / len(cycle)
    new_mean = sum(c - k for c, k in zip(cycle, cut, strict=True)) / len(cycle)
    assert result["baseline"]["cycle_hours_mean"] == pytest.approx(base_mean, abs=1e-3)
    assert result["scenario"]["cycle_hours_mean"] == pytest.approx(new_mean, abs=1e-3)
    assert result["saving_hours_per_affected_dossier"] == pytest.approx(
        sum(cut) / len(cut), abs=1e-3
    )
    # the other provinces are untouched
    for row in result["units"]:
        if row["province_code"] != "01":
            assert row["scenario"] == row["baseline"]


def test_without_a_catalog_the_result_is_inferred_and_protected(hand_made):
    rows = candidates(hand_made, LogFilter(procedure=PROC))["candidates"]
    by_step = {r["step"]: r for r in rows if r["kind"] == "step"}
    assert by_step["return"]["is_result"] and by_step["return"]["required_inferred"]
    assert by_step["decide"]["required"] and by_step["decide"]["required_inferred"]
    with pytest.raises(ScenarioError, match="result"):
        whatif(hand_made, LogFilter(procedure=PROC), remove=["return"])


# --- the read API: same figures as mining, the result refused with 422 ----------------
@pytest.fixture(scope="module")
def client(generated_all):
    from fastapi.testclient import TestClient

    from dashboard.server import create_app
    from dvcflow.settings import Settings

    settings = Settings(data_dir=generated_all.store.data_dir, web_warm_cache=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def test_api_cuts_the_handoff_as_mining_does_and_refuses_removing_the_result(
    client, generated_all, in_province, handoff
):
    params = {"procedure": handoff["procedure"], "province": handoff["province"]}
    listed = client.get("/api/v1/reform/candidates", params=params)
    assert listed.status_code == 200, listed.text
    top = listed.json()["data"]["candidates"][0]
    assert top["whatif"] == in_province["candidates"][0]["whatif"]

    got = client.post("/api/v1/reform/whatif", params=params, json={"changes": [top["whatif"]]})
    assert got.status_code == 200, got.text
    flt = LogFilter(procedure=handoff["procedure"], province=handoff["province"])
    direct = whatif(generated_all.store, flt, changes=[Change(**top["whatif"])])
    assert got.json()["data"]["scenario"] == direct["scenario"]

    refused = client.post(
        "/api/v1/reform/whatif", params=params, json={"remove": ["issue_insurance_card"]}
    )
    assert refused.status_code == 422
    assert "cannot be removed" in refused.json()["detail"]


def test_data_reuse_drops_the_checks_time_its_supplement_loop_and_its_visits(tmp_path):
    """A paper check at the counter: one dossier had a supplement loop after it and checked
    again. Reusing data leaves the check ``automated_step_minutes`` and no visit, and takes
    out the loop and the repeat — computed here by hand."""
    from ingest.store import EventStore

    proc, day, hour = "9.000002", timedelta(days=1), timedelta(hours=1)
    t0 = MONDAY
    common = {"procedure": proc, "province": "79", "commune": None}

    def ev(case, activity, when, channel="internal", **kw):
        return event(case, activity, when, channel=channel, **common, **kw)

    rows = [
        ev("D1", "submit", t0, "online"),
        ev("D1", "check_paper", t0 + day, "counter"),
        ev("D1", "request_supplement", t0 + day + hour),
        ev("D1", "submit_supplement", t0 + 3 * day, "counter"),
        ev("D1", "check_paper", t0 + 3 * day + hour, "counter"),
        ev("D1", "decide", t0 + 4 * day),
        ev("D1", "return", t0 + 4 * day + hour, outcome="approved"),
        ev("D2", "submit", t0, "online"),
        ev("D2", "check_paper", t0 + day, "counter"),
        ev("D2", "decide", t0 + 2 * day),
        ev("D2", "return", t0 + 2 * day + hour, outcome="approved"),
    ]
    store = write_rows(EventStore(tmp_path / "data"), rows)
    result = whatif(store, LogFilter(procedure=proc), changes=[Change("data_reuse", "check_paper")])

    minute = get_settings().automated_step_minutes / 60
    saved = {"D1": (24 - minute) + 1 + 47 + 1, "D2": 24 - minute}  # hours
    cycle = {"D1": 97.0, "D2": 49.0}
    new = [cycle[d] - saved[d] for d in ("D1", "D2")]
    assert result["baseline"]["cycle_hours_mean"] == pytest.approx(73.0, abs=1e-3)
    assert result["scenario"]["cycle_hours_mean"] == pytest.approx(sum(new) / 2, abs=1e-3)
    assert result["baseline"]["visits_per_dossier"] == pytest.approx((3 + 1) / 2)
    assert result["scenario"]["visits_per_dossier"] == 0
    change = result["changes"][0]
    assert change["supplement_loops_removed"] == 1 and change["refused_after_check"] == 0
