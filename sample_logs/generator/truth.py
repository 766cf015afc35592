"""The ground truth: planted facts measured on the events actually written.

Nothing here reads the generator's parameters back as results: every figure is recomputed
from the event table (the parameters are reported next to them only as ``planted_*``), so a
test or an analysis compares against what the log really holds.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from dvcflow.settings import get_settings
from sample_logs.catalog import Procedure
from sample_logs.generator.output import UTC_SHIFT
from sample_logs.generator.profiles import PROFILES, Planted
from sample_logs.workdays import WorkCalendar

HOUR_US = 3_600_000_000

DEFINITIONS = {
    "removable_step.mean_saving_hours": "mean over dossiers having the step of (completion of "
    "its first occurrence - timestamp of the event just before its first event)",
    "handoff_bottleneck.mean_wait_hours": "mean of (first event of to_activity - completion "
    "of from_activity) per dossier",
    "supplement_loop.mean_added_hours": "mean cycle time of approved dossiers with >= 1 "
    "supplement request minus that of approved dossiers with none",
    "supplement_loop.mean_citizen_wait_hours": "mean over dossiers with a request of the summed "
    "time from each request_supplement to the citizen's next event",
    "reform.mean_cycle_hours": "mean (last - first event) of approved dossiers, split by "
    "submission date",
    "rework_share": "share of dossiers in which some activity completes more than once",
    "full_online_share": "share of finished dossiers (with return_result) whose every "
    "citizen-facing step (catalog) was online and whose result went back online or by post",
    "on_time_share": "share of finished dossiers whose processing end (the event before "
    "return_result), less the working days waited for supplements, is on or before due_date, "
    "with at most settings.max_supplements_on_time supplement requests",
    "tet_rush.measured_multiplier": "mean submissions per working day inside the window / "
    "mean per working day outside it",
}


def _frame(table: pa.Table) -> pd.DataFrame:
    cols = ["case_id", "procedure_code", "activity", "lifecycle", "channel", "outcome"]
    df = table.select([*cols, "province_code"]).to_pandas(strings_to_categorical=True)
    us = table.column("timestamp").cast(pa.int64()).to_numpy() + UTC_SHIFT * 1_000_000
    df["t"] = us.astype("datetime64[us]")  # local wall-clock time
    df["case"] = pd.factorize(df["case_id"])[0]
    return df


def _mean(values: pd.Series | np.ndarray) -> float | None:
    values = np.asarray(values, dtype=float)
    return round(float(values.mean()), 4) if len(values) else None


def _hours(delta: pd.Series | np.ndarray) -> np.ndarray:
    return np.asarray(delta, dtype="timedelta64[us]").astype(np.int64) / HOUR_US


def _first_rows(df: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """First row of each dossier among the rows where ``mask`` holds (rows are time-sorted)."""
    return df[mask].drop_duplicates("case")


def _removable(df: pd.DataFrame, cal: WorkCalendar, p: Planted, proc: Procedure) -> dict:
    step = proc.step(p.removable_step)
    sub = df["procedure_code"] == p.removable_procedure
    first = _first_rows(df, sub & (df["activity"] == p.removable_step))
    done = _first_rows(
        df, sub & (df["activity"] == p.removable_step) & (df["lifecycle"] == "complete")
    ).set_index("case")
    first = first[first["case"].isin(done.index)]  # open at extraction: not yet done
    prev_t = df["t"].to_numpy()[first.index.to_numpy() - 1]
    done_t = done.loc[first["case"], "t"].to_numpy()
    done_rows = df.index[
        sub & (df["activity"] == p.removable_step) & (df["lifecycle"] == "complete")
    ]
    nxt = np.minimum(done_rows.to_numpy() + 1, len(df) - 1)
    same_case = df["case"].to_numpy()[nxt] == df["case"].to_numpy()[done_rows]
    failed_rows = same_case & (df["activity"].to_numpy()[nxt] == "request_supplement")
    failed_cases = np.unique(df["case"].to_numpy()[done_rows][failed_rows])
    cases = df.loc[sub, "case"].nunique()
    saving_wd = cal.working_days_between_arrays(prev_t, done_t)
    return {
        "procedure": p.removable_procedure,
        "step": p.removable_step,
        "replaceable_by_data": step.replaceable_by_data if step else None,
        "cases": int(cases),
        "cases_with_step": int(len(first)),
        "cases_skipping_step": int(cases - len(first)),
        "failure_rate": round(len(failed_cases) / max(len(first), 1), 5),
        "failure_definition": "the step's completion is directly followed by request_supplement",
        "planted_failure_rate": p.removable_failure,
        "mean_saving_hours": _mean(_hours(done_t - prev_t)),
        "mean_saving_working_days": _mean(saving_wd),
    }


def _handoff(df: pd.DataFrame, p: Planted) -> dict:
    sub = df["procedure_code"] == p.handoff_procedure
    frm = _first_rows(df, sub & (df["activity"] == p.handoff_from)).set_index("case")
    to = _first_rows(df, sub & (df["activity"] == p.handoff_to)).set_index("case")
    both = frm.index.intersection(to.index)
    wait = np.asarray(_hours(to.loc[both, "t"].to_numpy() - frm.loc[both, "t"].to_numpy()))
    province = frm.loc[both, "province_code"].to_numpy()
    by_province = {
        str(code): _mean(wait[province == code]) for code in sorted(set(province.tolist()))
    }
    here = province == p.handoff_province
    return {
        "procedure": p.handoff_procedure,
        "province": p.handoff_province,
        "from_activity": p.handoff_from,
        "to_activity": p.handoff_to,
        "cases_in_province": int(here.sum()),
        "cases_elsewhere": int((~here).sum()),
        "mean_wait_hours_in_province": _mean(wait[here]),
        "mean_wait_hours_elsewhere": _mean(wait[~here]),
        "mean_wait_hours_by_province": by_province,
    }


def _case_table(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby("case", sort=True, observed=True)
    cases = pd.DataFrame(
        {
            "procedure": g["procedure_code"].first().astype(str),
            "start": g["t"].first(),
            "end": g["t"].last(),
            "outcome": g["outcome"].last().astype(object),
            "requests": df["activity"].eq("request_supplement").groupby(df["case"]).sum(),
        }
    )
    cases["cycle_h"] = _hours(cases["end"] - cases["start"])
    return cases


def _citizen_wait(df: pd.DataFrame) -> pd.Series:
    """Hours from each request_supplement to the next event of the dossier, summed."""
    rows = df.index[df["activity"] == "request_supplement"].to_numpy()
    nxt = np.minimum(rows + 1, len(df) - 1)
    t = df["t"].to_numpy()
    ok = df["case"].to_numpy()[nxt] == df["case"].to_numpy()[rows]
    hours = np.where(ok, _hours(t[nxt] - t[rows]), 0.0)
    return pd.Series(hours).groupby(df["case"].to_numpy()[rows]).sum()


def _supplement(df: pd.DataFrame, cases: pd.DataFrame, p: Planted) -> dict:
    mine = cases[cases["procedure"] == p.supplement_procedure]
    asked = mine["requests"] > 0
    approved = mine["outcome"] == "approved"
    wait = _citizen_wait(df[df["procedure_code"] == p.supplement_procedure].reset_index())
    with_, without = mine.loc[asked & approved, "cycle_h"], mine.loc[~asked & approved, "cycle_h"]
    added = _mean(with_) - _mean(without) if len(with_) and len(without) else None
    return {
        "procedure": p.supplement_procedure,
        "cases": int(len(mine)),
        "cases_with_supplement": int(asked.sum()),
        "share_of_cases": round(float(asked.mean()), 5) if len(mine) else None,
        "planted_share": PROFILES[p.supplement_procedure].supplement,
        "share_with_two_or_more": round(float((mine["requests"] >= 2).mean()), 5),
        "mean_added_hours": round(added, 4) if added is not None else None,
        "mean_citizen_wait_hours": _mean(wait),
    }


def _reform(df: pd.DataFrame, cases: pd.DataFrame, p: Planted) -> dict:
    mine = cases[(cases["procedure"] == p.reform_procedure) & (cases["outcome"] == "approved")]
    after = mine["start"] >= pd.Timestamp(p.reform_date)
    has_step = df.loc[
        (df["procedure_code"] == p.reform_procedure) & (df["activity"] == p.reform_step), "case"
    ].unique()
    return {
        "procedure": p.reform_procedure,
        "date": p.reform_date.isoformat(),
        "removed_step": p.reform_step,
        "cases_before": int((~after).sum()),
        "cases_after": int(after.sum()),
        "mean_cycle_hours_before": _mean(mine.loc[~after, "cycle_h"]),
        "mean_cycle_hours_after": _mean(mine.loc[after, "cycle_h"]),
        "cases_after_with_removed_step": int(np.isin(mine.index[after], has_step).sum()),
    }


def _tet(df: pd.DataFrame, cal: WorkCalendar, p: Planted, period: tuple[date, date]) -> dict:
    first = df.drop_duplicates("case")["t"].dt.normalize()
    counts = first.value_counts()
    workdays = cal.workdays_array(period[0].year, period[1].year)
    workdays = workdays[
        (workdays >= np.datetime64(period[0])) & (workdays <= np.datetime64(period[1]))
    ]
    per_day = counts.reindex(pd.DatetimeIndex(workdays.astype("datetime64[ns]")), fill_value=0)
    inside = (per_day.index >= pd.Timestamp(p.tet_start)) & (
        per_day.index <= pd.Timestamp(p.tet_end)
    )
    ratio = per_day[inside].mean() / per_day[~inside].mean() if inside.any() else None
    return {
        "window": [p.tet_start.isoformat(), p.tet_end.isoformat()],
        "planted_multiplier": p.tet_multiplier,
        "measured_multiplier": round(float(ratio), 4) if ratio is not None else None,
        "mean_submissions_per_working_day_inside": _mean(per_day[inside]),
        "mean_submissions_per_working_day_outside": _mean(per_day[~inside]),
    }


def _shares(
    df: pd.DataFrame,
    cases: pd.DataFrame,
    procs: list[Procedure],
    cal: WorkCalendar,
    submit_attrs: np.ndarray,
) -> dict:
    complete = df[df["lifecycle"] == "complete"]
    dup = complete.duplicated(["case", "activity"])
    rework_cases = set(complete.loc[dup, "case"].tolist())
    cases = cases.assign(rework=cases.index.isin(list(rework_cases)))
    finished_idx = df.index[df["activity"] == "return_result"]
    finished = set(df.loc[finished_idx, "case"].tolist())
    cases = cases.assign(finished=cases.index.isin(list(finished)))

    facing = {p.code: {s.code for s in p.steps if s.citizen_facing} for p in procs}
    is_facing = np.zeros(len(df), bool)
    for code, steps in facing.items():
        is_facing |= ((df["procedure_code"] == code) & df["activity"].isin(list(steps))).to_numpy()
    ok = (df["channel"] == "online") | (
        (df["activity"] == "return_result") & (df["channel"] == "postal")
    )
    offline = set(df.loc[is_facing & ~ok, "case"].tolist())
    cases = cases.assign(full_online=cases["finished"] & ~cases.index.isin(list(offline)))
    cases = cases.assign(on_time=_on_time(df, cases, cal, submit_attrs))

    out: dict[str, dict] = {"rework_share": {}, "full_online_share": {}, "on_time_share": {}}
    for code, g in cases.groupby("procedure"):
        fin = g[g["finished"]]
        out["rework_share"][code] = round(float(g["rework"].mean()), 5)
        out["full_online_share"][code] = (
            round(float(fin["full_online"].mean()), 5) if len(fin) else None
        )
        out["on_time_share"][code] = round(float(fin["on_time"].mean()), 5) if len(fin) else None
    return out


def _on_time(
    df: pd.DataFrame, cases: pd.DataFrame, cal: WorkCalendar, submit_attrs: np.ndarray
) -> pd.Series:
    due = pd.to_datetime(
        [orjson.loads(a)["due_date"][:19] if a else None for a in submit_attrs], format="ISO8601"
    )
    result_rows = df.index[df["activity"] == "return_result"].to_numpy()
    result_cases = df["case"].to_numpy()[result_rows]
    end = pd.Series(df["t"].to_numpy()[result_rows - 1], index=result_cases)
    end = end[~end.index.duplicated()]
    wait_wd = _supplement_wait_workdays(df, cal)
    out = pd.Series(False, index=cases.index)
    idx = end.index
    start = cases.loc[idx, "start"].to_numpy()
    used = (
        cal.working_days_between_arrays(start, end.to_numpy())
        - wait_wd.reindex(idx, fill_value=0.0).to_numpy()
    )
    allowed = cal.working_days_between_arrays(start, due.to_numpy()[idx])
    limit = get_settings().max_supplements_on_time
    out.loc[idx] = (used <= allowed) & (cases.loc[idx, "requests"].to_numpy() <= limit)
    return out


def _supplement_wait_workdays(df: pd.DataFrame, cal: WorkCalendar) -> pd.Series:
    rows = df.index[df["activity"] == "request_supplement"].to_numpy()
    nxt = np.minimum(rows + 1, len(df) - 1)
    t = df["t"].to_numpy()
    ok = df["case"].to_numpy()[nxt] == df["case"].to_numpy()[rows]
    wd = np.where(ok, cal.working_days_between_arrays(t[rows], t[nxt]), 0.0)
    return pd.Series(wd).groupby(df["case"].to_numpy()[rows]).sum()


def measure_ground_truth(
    table: pa.Table,
    procs: list[Procedure],
    calendar: WorkCalendar,
    planted: Planted,
    period: tuple[date, date],
) -> dict[str, Any]:
    df = _frame(table)
    first = np.r_[True, df["case"].to_numpy()[1:] != df["case"].to_numpy()[:-1]]
    submit_attrs = table.column("attributes").to_numpy(zero_copy_only=False)[first]
    cases = _case_table(df)
    by_code = {p.code: p for p in procs}
    truth: dict[str, Any] = {"definitions": DEFINITIONS}
    if planted.removable_procedure in by_code:
        truth["removable_step"] = _removable(
            df, calendar, planted, by_code[planted.removable_procedure]
        )
    if planted.handoff_procedure in by_code:
        truth["handoff_bottleneck"] = _handoff(df, planted)
    if planted.supplement_procedure in by_code:
        truth["supplement_loop"] = _supplement(df, cases, planted)
    if planted.reform_procedure in by_code:
        truth["reform"] = _reform(df, cases, planted)
    truth["tet_rush"] = _tet(df, calendar, planted, period)
    truth.update(_shares(df, cases, procs, calendar, submit_attrs))
    truth["cases_by_procedure"] = {k: int(v) for k, v in cases["procedure"].value_counts().items()}
    truth["outcomes_by_procedure"] = {
        code: {str(k): int(v) for k, v in g["outcome"].fillna("open").value_counts().items()}
        for code, g in cases.groupby("procedure")
    }
    return truth
