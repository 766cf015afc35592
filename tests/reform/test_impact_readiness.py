"""Reform impact finds the planted reform and nothing on a quiet date; full-online shares
equal an independent count on the raw generated events."""

from __future__ import annotations

import json
from datetime import date

import orjson
import pandas as pd
import pytest

from mining.filters import LogFilter
from mining.reform import impact, readiness
from mining.reform.impact import ImpactError
from sample_logs.catalog import get_procedure

pytestmark = pytest.mark.xdist_group("reform")


def test_planted_reform_date_shows_a_significant_improvement(generated):
    planted = generated.truth["reform"]
    result = impact(
        generated.store,
        LogFilter(procedure=planted["procedure"]),
        date.fromisoformat(planted["date"]),
    )
    json.dumps(result)
    cycle = result["measures"]["cycle_working_days"]
    assert result["verdict"] == "improved"
    assert cycle["significant"] and cycle["verdict"] == "improved"
    assert cycle["ci95"][1] < 0 <= cycle["ci95"][1] - cycle["ci95"][0]
    assert cycle["after"] < cycle["before"]


def test_a_date_without_reform_shows_no_change(generated):
    planted = generated.truth["reform"]
    result = impact(generated.store, LogFilter(procedure=planted["procedure"]), date(2025, 10, 1))
    assert result["verdict"] == "no_change", result["measures"]
    assert not any(m.get("significant") for m in result["measures"].values())


def test_impact_refuses_a_date_with_too_few_dossiers(generated):
    with pytest.raises(ImpactError, match="--date 2030-01-01"):
        impact(generated.store, LogFilter(procedure="1.002804"), date(2030, 1, 1))


def _independent_full_online(raw: pd.DataFrame, code: str) -> tuple[int, int]:
    """Judged = dossiers with a returned result; full-online = every citizen-facing catalog
    step online (result: online or postal; fee paid online)."""
    proc = get_procedure(code)
    facing = {s.code: s.kind.value for s in proc.steps if s.citizen_facing}
    result_steps = {s.code for s in proc.steps if s.kind.value == "result"}
    done = raw[(raw["procedure_code"] == code) & (raw["lifecycle"] != "start")].copy()
    kind = done["activity"].map(facing)
    paid_offline = done["attributes"].map(
        lambda a: isinstance(a, str) and orjson.loads(a or "{}").get("fee_paid_online") is False
    )
    bad = (
        ((kind == "result") & ~done["channel"].isin(["online", "postal"]))
        | (kind.notna() & (kind != "result") & done["channel"].isin(["counter", "postal"]))
        | ((kind == "payment") & paid_offline)
    )
    per_case = (
        pd.DataFrame(
            {"judged": done["activity"].isin(result_steps), "bad": bad, "case": done["case_id"]}
        )
        .groupby("case")[["judged", "bad"]]
        .any()
    )
    judged = per_case[per_case["judged"]]
    return len(judged), int((~judged["bad"]).sum())


@pytest.mark.parametrize("code", ["1.004222", "1.002804"])
def test_full_online_share_equals_an_independent_count(generated, code):
    raw = pd.read_parquet(generated.events)
    judged, full = _independent_full_online(raw, code)
    result = readiness(generated.store, LogFilter(procedure=code))
    json.dumps(result)
    proc = result["procedures"][0]
    assert (proc["judged"], proc["full_online"]) == (judged, full)
    assert proc["full_online_share"] == pytest.approx(
        generated.truth["full_online_share"][code], abs=1e-4
    )
    assert sum(u["judged"] for u in proc["units"]) == judged
    # blockers are ranked and each counts distinct dossiers among the blocked ones
    counts = [b["dossiers"] for b in proc["blockers"]]
    assert counts == sorted(counts, reverse=True)
    assert max(counts) <= proc["blocked"] == judged - full
