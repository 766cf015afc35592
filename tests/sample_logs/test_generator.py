"""The generator: valid events, deterministic, realistic, and its planted facts really there.

Every planted figure is recomputed here from the written events with plain pandas (no code
shared with ``sample_logs.generator.truth``) and compared with ground_truth.json.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from dvcflow.cli import app
from ingest.schema import parse_event
from sample_logs.catalog import load_catalog
from sample_logs.generator import generate
from sample_logs.workdays import WorkCalendar

pytestmark = pytest.mark.xdist_group("sample_logs_generator")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, dict]:
    out = tmp_path_factory.mktemp("generated")
    generate("all", 5000, 11, out)
    df = pd.read_parquet(out / "events.parquet")
    df["local"] = df["timestamp"].dt.tz_convert("Asia/Ho_Chi_Minh").dt.tz_localize(None)
    truth = json.loads((out / "ground_truth.json").read_text())
    return out, df, truth


def _cases(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby("case_id", sort=False)
    return pd.DataFrame(
        {
            "procedure": g["procedure_code"].first(),
            "first": g["local"].min(),
            "last": g["local"].max(),
            "outcome": g["outcome"].last(),
        }
    )


def test_every_event_passes_the_contract(run) -> None:
    out, df, _ = run
    with open(out / "events.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(df)
    for row in rows:
        raw = {k: v for k, v in row.items() if v != ""}
        if "attributes" in raw:
            raw["attributes"] = json.loads(raw["attributes"])
        event = parse_event(raw)
        assert event.timestamp.utcoffset().total_seconds() == 7 * 3600
    assert rows[0]["timestamp"].endswith("+07:00")
    assert df["event_id"].is_unique
    csv_ids = [r["event_id"] for r in rows]
    assert csv_ids == df["event_id"].tolist()


def test_same_seed_same_log_other_seed_other_log() -> None:
    a = generate("1.001193,1.009974", 400, 5, None).table
    b = generate("1.001193,1.009974", 400, 5, None).table
    c = generate("1.001193,1.009974", 400, 6, None).table
    assert a.equals(b)
    assert not a.equals(c)
    assert set(a.column("procedure_code").to_pylist()) == {"1.001193", "1.009974"}


def test_dossiers_look_like_vietnamese_one_stop_dossiers(run) -> None:
    _, df, _ = run
    first = df.groupby("case_id", sort=False).head(1)
    assert (first["activity"] == "submit").all() and (first["actor_role"] == "citizen").all()
    assert set(first["channel"]) == {"online", "counter", "postal"}
    assert first["applicant_id"].str.fullmatch(r"\d{12}").all()
    communes = df.groupby("province_code")["commune_code"].nunique()
    assert len(communes) >= 5 and (communes >= 3).all()
    assert first["local"].min() >= pd.Timestamp("2025-07-01")
    assert first["local"].max() < pd.Timestamp("2026-07-01")
    # Within a dossier events are in time order and numbered in that order.
    assert (df.groupby("case_id", sort=False)["local"].diff().dropna() >= pd.Timedelta(0)).all()
    # Outcomes sit on the last event only.
    last = df.groupby("case_id", sort=False).tail(1)
    assert df.loc[~df.index.isin(last.index), "outcome"].isna().all()
    assert {"approved", "rejected", "withdrawn"} <= set(last["outcome"].dropna())
    assert last["outcome"].isna().any()  # still open at extraction
    # Steps with service time have start and complete.
    starts = df[df["lifecycle"] == "start"]
    assert len(starts) > 0 and set(starts["actor_role"]) == {"officer"}


def test_officers_work_office_hours_on_working_days(run) -> None:
    _, df, _ = run
    cal = WorkCalendar()
    officer = df[df["actor_role"] == "officer"]
    minutes = officer["local"].dt.hour * 60 + officer["local"].dt.minute
    assert minutes.between(7 * 60 + 30, 17 * 60).all()
    days = officer["local"].dt.date.unique()
    assert all(cal.is_working_day(d) for d in days)
    assert pd.Timestamp("2026-02-17").date() not in set(days)
    online_submits = df[(df["activity"] == "submit") & (df["channel"] == "online")]
    assert (online_submits["local"].dt.hour >= 19).any()  # citizens file in the evening


def test_submission_attributes_and_due_dates(run) -> None:
    _, df, _ = run
    catalog = load_catalog()
    cal = WorkCalendar()
    submits = df[df["activity"] == "submit"].sample(300, random_state=1)
    verified = set(df.loc[df["activity"] == "verify_with_agencies", "case_id"])
    for row in submits.itertuples():
        attrs = json.loads(row.attributes)
        assert {"digitised", "vneid_verified", "data_reused", "due_date"} <= set(attrs)
        proc = catalog[row.procedure_code]
        n = proc.deadline_working_days
        if row.case_id in verified and proc.deadline_working_days_verification:
            n = proc.deadline_working_days_verification
        expected = cal.add_working_days(row.timestamp.to_pydatetime(), n)
        assert datetime.fromisoformat(attrs["due_date"]) == expected
    results = df[df["activity"] == "return_result"]
    attrs = results["attributes"].map(json.loads)
    rated = attrs.map(lambda a: a.get("satisfaction"))
    assert rated.dropna().between(1, 5).all() and 0.15 < rated.notna().mean() < 0.45
    assert attrs.map(lambda a: isinstance(a["e_result"], bool)).all()
    payments = df.loc[df["activity"] == "pay_fee", "attributes"].map(json.loads)
    assert payments.map(lambda a: a["fee_paid_online"]).nunique() == 2


def test_rework_and_full_online_shares(run) -> None:
    _, df, truth = run
    complete = df[df["lifecycle"] == "complete"]
    repeated = complete.groupby(["case_id", "activity"]).size().gt(1).groupby("case_id").any()
    per_case = df.groupby("case_id")["procedure_code"].first()
    rework = repeated.reindex(per_case.index, fill_value=False).groupby(per_case).mean()
    for code, share in rework.items():
        assert truth["rework_share"][code] == pytest.approx(share, abs=1e-4)
    assert rework["1.009974"] > 2 * rework.drop("1.009974").mean()

    facing = {
        p.code: {s.code for s in p.steps if s.citizen_facing} for p in load_catalog().values()
    }
    finished = set(df.loc[df["activity"] == "return_result", "case_id"])
    is_facing = [a in facing[p] for p, a in zip(df["procedure_code"], df["activity"], strict=True)]
    good = (df["channel"] == "online") | (
        (df["activity"] == "return_result") & (df["channel"] == "postal")
    )
    bad = set(df.loc[np.array(is_facing) & ~good, "case_id"])
    fin = per_case[per_case.index.isin(finished)]
    full = pd.Series(~fin.index.isin(bad), index=fin.index).groupby(fin).mean()
    for code, share in full.items():
        assert truth["full_online_share"][code] == pytest.approx(share, abs=1e-4)
    assert full["1.009974"] == 0.0  # originals at the counter and a paper permit
    assert full["2.001610"] > 0.7


def test_supplement_loop_is_planted(run) -> None:
    _, df, truth = run
    fact = truth["supplement_loop"]
    mine = df[df["procedure_code"] == fact["procedure"]]
    asked = mine.groupby("case_id")["activity"].apply(lambda a: (a == "request_supplement").any())
    assert fact["share_of_cases"] == pytest.approx(asked.mean(), abs=1e-4)
    assert 0.18 < asked.mean() < 0.32
    cases = _cases(mine)
    cases["asked"] = asked
    approved = cases[cases["outcome"] == "approved"]
    hours = (approved["last"] - approved["first"]).dt.total_seconds() / 3600
    added = hours[approved["asked"]].mean() - hours[~approved["asked"]].mean()
    assert fact["mean_added_hours"] == pytest.approx(added, rel=1e-3)
    assert added > 24


def test_handoff_bottleneck_only_in_one_province(run) -> None:
    _, df, truth = run
    fact = truth["handoff_bottleneck"]
    mine = df[df["procedure_code"] == fact["procedure"]]
    frm = mine[mine["activity"] == fact["from_activity"]].groupby("case_id")["local"].min()
    to = mine[mine["activity"] == fact["to_activity"]].groupby("case_id")["local"].min()
    both = frm.index.intersection(to.index)
    wait = (to[both] - frm[both]).dt.total_seconds() / 3600
    province = mine.groupby("case_id")["province_code"].first()[both]
    by_province = wait.groupby(province).mean()
    here = by_province[fact["province"]]
    assert fact["mean_wait_hours_in_province"] == pytest.approx(here, rel=1e-3)
    elsewhere = wait[province != fact["province"]].mean()
    assert fact["mean_wait_hours_elsewhere"] == pytest.approx(elsewhere, rel=1e-3)
    assert here > 5 * by_province.drop(fact["province"]).max()


def test_removable_step_is_planted(run) -> None:
    _, df, truth = run
    fact = truth["removable_step"]
    step = load_catalog()[fact["procedure"]].step(fact["step"])
    assert step.replaceable_by_data == fact["replaceable_by_data"] == "population_db"
    assert step.paper and step.kind.value == "verification"
    mine = df[df["procedure_code"] == fact["procedure"]].reset_index(drop=True)
    savings, failures, having = [], 0, 0
    for _, case in mine.groupby("case_id", sort=False):
        acts = case["activity"].tolist()
        if fact["step"] not in acts:
            continue
        i = acts.index(fact["step"])
        done = [j for j in range(i, len(acts)) if acts[j] == fact["step"]]
        done = [j for j in done if case["lifecycle"].iloc[j] == "complete"]
        if not done:
            continue  # still open at extraction
        having += 1
        j = done[0]
        savings.append((case["local"].iloc[j] - case["local"].iloc[i - 1]).total_seconds() / 3600)
        failures += j + 1 < len(acts) and acts[j + 1] == "request_supplement"
    assert having == fact["cases_with_step"] and fact["cases_skipping_step"] > 0
    assert fact["mean_saving_hours"] == pytest.approx(np.mean(savings), rel=1e-4)
    assert np.mean(savings) > 8  # it costs real time
    assert failures / having == pytest.approx(fact["failure_rate"], abs=1e-4)
    assert failures / having < 0.01


def test_reform_removed_a_step_and_helped(run) -> None:
    _, df, truth = run
    fact = truth["reform"]
    mine = df[df["procedure_code"] == fact["procedure"]]
    cases = _cases(mine)
    cases = cases[cases["outcome"] == "approved"]
    after = cases["first"] >= pd.Timestamp(fact["date"])
    hours = (cases["last"] - cases["first"]).dt.total_seconds() / 3600
    assert fact["mean_cycle_hours_before"] == pytest.approx(hours[~after].mean(), rel=1e-4)
    assert fact["mean_cycle_hours_after"] == pytest.approx(hours[after].mean(), rel=1e-4)
    assert hours[after].mean() < 0.85 * hours[~after].mean()
    with_step = set(mine.loc[mine["activity"] == fact["removed_step"], "case_id"])
    assert not with_step & set(cases.index[after])
    assert len(with_step & set(cases.index[~after])) > 0.9 * (~after).sum()


def test_tet_rush(run) -> None:
    _, df, truth = run
    fact = truth["tet_rush"]
    cal = WorkCalendar()
    day = df.groupby("case_id")["local"].min().dt.normalize().value_counts()
    all_days = pd.date_range("2025-07-01", "2026-06-30")
    work = [d for d in all_days if cal.is_working_day(d.date())]
    per_day = day.reindex(work, fill_value=0)
    inside = (per_day.index >= fact["window"][0]) & (per_day.index <= fact["window"][1])
    ratio = per_day[inside].mean() / per_day[~inside].mean()
    assert fact["measured_multiplier"] == pytest.approx(ratio, rel=1e-3)
    assert ratio > 1.3


def test_cli_generate(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["generate", "--procedures", "2.001610", "--cases", "50", "--out", str(tmp_path), "--json"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["events"] == pq.read_metadata(tmp_path / "events.parquet").num_rows
    assert (tmp_path / "ground_truth.json").exists()
    bad = CliRunner().invoke(app, ["generate", "--procedures", "1.001193,9.9", "--out", "x"])
    assert bad.exit_code == 2 and "--procedures: 9.9 not in the catalog" in bad.output


def test_shipped_sample_is_what_the_generator_writes() -> None:
    data = Path(__file__).resolve().parents[2] / "sample_logs" / "data"
    truth = json.loads((data / "ground_truth.json").read_text())
    seed, cases = truth["generator"]["seed"], truth["generator"]["cases"]
    fresh = generate("all", cases, seed, None)
    assert pq.read_table(data / "events.parquet").equals(fresh.table)
    assert (data / "events.csv.gz").stat().st_size < 2_000_000
    assert fresh.ground_truth["removable_step"] == truth["removable_step"]


def test_on_time_share_with_the_scalar_calendar(run) -> None:
    _, df, truth = run
    cal = WorkCalendar()
    limit = 1  # settings.max_supplements_on_time default
    for code in ("2.001610", "1.004193"):
        mine = df[df["procedure_code"] == code]
        verdicts = []
        for _, case in mine.groupby("case_id", sort=False):
            acts = case["activity"].tolist()
            if "return_result" not in acts:
                continue
            times = [t.to_pydatetime() for t in case["timestamp"]]
            due = datetime.fromisoformat(json.loads(case["attributes"].iloc[0])["due_date"])
            end = times[acts.index("return_result") - 1]
            asks = [i for i, a in enumerate(acts) if a == "request_supplement"]
            waited = sum(cal.working_days_between(times[i], times[i + 1]) for i in asks)
            used = cal.working_days_between(times[0], end) - waited
            verdicts.append(len(asks) <= limit and used <= cal.working_days_between(times[0], due))
        assert truth["on_time_share"][code] == pytest.approx(np.mean(verdicts), abs=1e-4)
    assert truth["on_time_share"]["1.004193"] < truth["on_time_share"]["2.001417"]


def test_a_users_own_catalog_procedure_is_generated(tmp_path: Path) -> None:
    from sample_logs.catalog import PACKAGED_DIR

    doc = json.loads((PACKAGED_DIR / "2.001610.json").read_text(encoding="utf-8"))
    doc["code"] = "3.000001"
    doc["steps"] = [s for s in doc["steps"] if s["kind"] != "supplement"]
    (tmp_path / "3.000001.json").write_text(json.dumps(doc), encoding="utf-8")
    catalog = load_catalog(tmp_path)
    result = generate("3.000001", 200, 1, None, catalog=catalog)
    df = result.table.to_pandas()
    assert set(df["procedure_code"]) == {"3.000001"}
    assert set(df["activity"]) <= set(catalog["3.000001"].step_codes)
    assert "supplement_loop" not in result.ground_truth
    assert result.ground_truth["cases_by_procedure"] == {"3.000001": 200}
