"""What-if: replay a procedure's log with steps removed or automated.

Deterministic: every later step of a dossier moves earlier by exactly what the changed step
cost it (its completion minus the completion of the step before it; for an automated step,
that minus ``automated_step_minutes``). Nothing else changes: queues, officers' workload and
the citizen's behaviour stay as observed. On-time status is recomputed by the mining core's
deadline rules on the replayed dossiers; full-online status drops the removed or automated
steps as blockers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dvcflow.errors import DvcflowError
from dvcflow.settings import get_settings
from ingest.store import EventStore
from mining.deadlines import build_deadlines
from mining.filters import LogFilter
from mining.log import connect
from mining.reform.catalog_view import procedure_deadline, procedure_name
from mining.reform.source import load_steps, require_procedure
from mining.reform.steps import StepLog
from mining.reform.timing import working_days

ON_TIME = ("early", "on_time")


class UnknownStepError(DvcflowError):
    """A what-if names a step that the procedure's log does not have."""


# The step columns a replay reads: not the wide frame (copying it cost more than the replay).
_REPLAY_COLUMNS = ["case_id", "activity", "segment_h", "start_ts", "complete_ts", "seq"]


def _summaries(frame: pd.DataFrame, by: str | None = None) -> dict:
    """Baseline and scenario figures of ``frame`` (one row per dossier, see ``_figures``),
    whole or per ``by`` value, in one group-by each instead of one pass per unit."""
    keys = frame[by] if by else pd.Series(0, index=frame.index)
    groups = frame.groupby(keys, sort=True, dropna=True)
    size = groups.size()
    finished = groups["finished"].sum()
    out = {}
    for side in ("baseline", "scenario"):
        wd = groups[f"wd_{side}"]
        figures = pd.DataFrame(
            {
                "mean": wd.mean(),
                "median": wd.median(),
                "p90": wd.quantile(0.9),
                "hours": groups[f"h_{side}"].mean(),
                "on_time": groups[f"on_time_{side}"].mean(),
                "online": groups[f"online_{side}"].mean(),
            }
        )
        for key, row in figures.iterrows():
            out.setdefault(key, {})[side] = {
                "dossiers": int(size[key]),
                "finished": int(finished[key]),
                "cycle_working_days": {
                    "mean": _rounded(row["mean"], 3),
                    "median": _rounded(row["median"], 3),
                    "p90": _rounded(row["p90"], 3),
                },
                "cycle_hours_mean": _rounded(row["hours"], 3),
                "on_time_rate": _rounded(row["on_time"], 4),
                "full_online_share": _rounded(row["online"], 4),
            }
    return out


def _rounded(value: float, digits: int) -> float | None:
    return None if pd.isna(value) else round(float(value), digits)


def _figures(cases: pd.DataFrame, new_wd, new_h, new_status, new_online) -> pd.DataFrame:
    """One row per dossier: each summary figure's input, NaN where the dossier does not
    count for it (cycle times: finished only; on-time: finished and judged early, on time
    or late; full-online: judged for it)."""
    fin = cases["finished"].astype(bool).to_numpy()
    judged = cases["judged"].astype(bool).to_numpy()

    def only(values, mask) -> np.ndarray:
        return np.where(mask, np.asarray(values, dtype=float), np.nan)

    def on_time(status) -> np.ndarray:
        status = np.asarray(status, dtype=object)
        counted = fin & np.isin(status, ["early", "on_time", "late"])
        return only(np.isin(status, ON_TIME), counted)

    return pd.DataFrame(
        {
            "finished": fin,
            "wd_baseline": only(cases["cycle_wd"], fin),
            "wd_scenario": only(new_wd, fin),
            "h_baseline": only(cases["cycle_h"], fin),
            "h_scenario": only(new_h, fin),
            "on_time_baseline": on_time(cases["status"]),
            "on_time_scenario": on_time(new_status),
            "online_baseline": only(cases["full_online"].astype(bool), judged),
            "online_scenario": only(new_online, judged),
        },
        index=cases.index,
    )


def _hours(hours: np.ndarray) -> np.ndarray:
    """Hours (floats) as timedeltas, to the microsecond, in one numpy cast (``to_timedelta``
    with a unit goes value by value)."""
    return np.round(np.asarray(hours, dtype=float) * 3.6e9).astype("timedelta64[us]")


def _utc(moments: pd.Series) -> np.ndarray:
    """A zoned column as naive UTC ``datetime64[us]`` (``to_numpy()`` alone would make
    Timestamp objects)."""
    return moments.to_numpy(dtype="datetime64[us]")


def _scenario_status(
    log: StepLog, cases: pd.DataFrame, kept: pd.DataFrame, new_end: pd.Series, proc: str
) -> np.ndarray:
    """On-time status of the replayed dossiers, by ``mining.deadlines``' own rules.

    ``kept["case_id"]`` holds each step's dossier as its position in ``cases``: integer keys
    join faster than the ids, and the answer comes back in ``cases`` order."""
    con = connect()
    new_cases = pd.DataFrame(
        {
            "case_id": np.arange(len(cases)),
            "procedure_code": proc,
            # ``.array``: ``to_numpy`` turns a zoned column into Timestamp objects, parsed
            # back one by one here
            "first_ts": cases["received"].array,
            "last_ts": new_end.array,
            "finished": cases["finished"].astype(bool).to_numpy(),
            "due_attr": cases["due_attr"].array,
        }
    )
    con.register("cases", new_cases)
    con.register("steps", kept.rename(columns={"complete_ts": "end_ts"}))
    deadline = procedure_deadline(proc)
    build_deadlines(con, {proc: deadline} if deadline is not None else None, as_of=log.as_of)
    order = "ORDER BY case_id::BIGINT"  # ``deadlines`` holds the keys as text
    status = con.sql(f"SELECT status FROM deadlines {order}").fetchnumpy()["status"]
    return np.asarray(status, dtype=object)


def whatif_from(
    log: StepLog,
    proc: str,
    remove: Sequence[str] = (),
    automate: Sequence[str] = (),
    by: str = "unit",
) -> dict:
    settings = get_settings()
    mine = log.steps["procedure_code"].to_numpy() == proc
    steps = log.steps.loc[mine, [*_REPLAY_COLUMNS, "blocks_online"]]
    cases = log.cases[log.cases["procedure_code"] == proc]
    known = sorted(set(steps["activity"]))
    for name in [*remove, *automate]:
        if name not in known:
            raise UnknownStepError(
                f"--remove/--automate {name}: procedure {proc} has no step {name!r} in the "
                f"selected log (its steps: {', '.join(known)})."
            )
    if not remove and not automate:
        raise DvcflowError("what-if needs at least one --remove STEP or --automate STEP.")
    if not steps["case_id"].is_monotonic_increasing:  # a StepLog is ordered; be sure
        steps = steps.sort_values(["case_id", "seq"], kind="stable")

    # Per step instance: the hours it no longer costs (``delta``), and how much earlier it
    # and the dossier's later steps happen (the running sum of ``delta`` in the dossier).
    activity = steps["activity"].to_numpy()
    segment = steps["segment_h"].to_numpy(dtype=float)
    removed = np.isin(activity, list(remove))
    auto = np.isin(activity, list(automate)) & ~removed
    automated_h = settings.automated_step_minutes / 60.0
    delta = np.where(removed, segment, np.where(auto, np.maximum(segment - automated_h, 0), 0))
    case_ids = steps["case_id"].to_numpy()
    first = np.ones(len(case_ids), dtype=bool)
    first[1:] = case_ids[1:] != case_ids[:-1]
    code = np.cumsum(first) - 1  # the dossier of each row, 0..n-1 in row order
    dossiers = case_ids[first]

    def per_dossier(weights: np.ndarray, rows: np.ndarray | slice = slice(None)) -> pd.Series:
        """``weights`` summed over each dossier's ``rows``, in ``cases`` order."""
        sums = np.bincount(code[rows], weights=weights[rows], minlength=len(dossiers))
        return pd.Series(sums, index=dossiers).reindex(cases.index, fill_value=0.0)

    running = np.cumsum(delta)
    shift = running - (running - delta)[first][code]  # running sum within the dossier
    total = per_dossier(delta)

    keep = ~removed
    tz = steps["complete_ts"].dt.tz
    complete = _utc(steps["complete_ts"])[keep] - _hours(shift[keep])
    start = _utc(steps["start_ts"])[keep] - _hours((shift - delta)[keep])
    start = np.where(auto[keep], complete, start)  # an automated step takes no waiting
    position = cases.index.get_indexer(dossiers)[code]  # each row's dossier in cases
    kept = pd.DataFrame(
        {
            "case_id": position[keep],
            "activity": activity[keep],
            "start_ts": pd.DatetimeIndex(start, tz="UTC").tz_convert(tz),
            "complete_ts": pd.DatetimeIndex(complete, tz="UTC").tz_convert(tz),
            "seq": steps["seq"].to_numpy()[keep],
        }
    )

    new_end = cases["ended"] - pd.to_timedelta(_hours(total.to_numpy()))
    new_cycle_h = cases["cycle_h"] - total
    new_cycle_wd = working_days(cases["received"], new_end)
    blocked = per_dossier(steps["blocks_online"].to_numpy(dtype=float), keep) > 0
    new_online = cases["judged"].astype(bool) & ~blocked
    new_status = _scenario_status(log, cases, kept, new_end, proc)

    affected = per_dossier((removed | auto).astype(float)) > 0
    per_step = []
    for name in [*remove, *automate]:
        rows = activity == name
        dossiers = len(np.unique(code[rows]))
        per_step.append(
            {
                "step": name,
                "action": "remove" if name in remove else "automate",
                "dossiers": dossiers,
                "saving_hours_per_affected_dossier": round(float(delta[rows].sum() / dossiers), 3),
            }
        )

    figures = _figures(cases, new_cycle_wd, new_cycle_h, new_status, new_online)
    overall = _summaries(figures)[0]
    per_unit = _summaries(figures.assign(unit=cases[by]), "unit")
    units = [row | {by: str(unit)} for unit, row in per_unit.items()]
    fin = cases["finished"].astype(bool)
    edges = _bins(pd.concat([cases["cycle_wd"][fin], new_cycle_wd[fin]]).dropna())
    return {
        "procedure": proc,
        "name": procedure_name(proc),
        "remove": list(remove),
        "automate": list(automate),
        "affected_dossiers": int(affected.sum()),
        "saving_hours_per_affected_dossier": round(float(total[affected].mean()), 3)
        if affected.any()
        else 0.0,
        "saving_working_days_per_affected_dossier": round(
            float((cases["cycle_wd"] - new_cycle_wd)[affected].mean()), 3
        )
        if affected.any()
        else 0.0,
        "steps": per_step,
        **overall,
        "by": by,
        "units": units,
        "distribution": {
            "bin_edges_working_days": edges,
            "baseline": np.histogram(cases["cycle_wd"][fin].dropna(), bins=edges)[0].tolist(),
            "scenario": np.histogram(new_cycle_wd[fin].dropna(), bins=edges)[0].tolist(),
        },
        "assumptions": _assumptions(settings.automated_step_minutes),
    }


def _bins(values: pd.Series, n: int = 12) -> list[float]:
    if values.empty:
        return [0.0, 1.0]
    hi = float(values.max())
    return [round(x, 3) for x in np.linspace(0.0, hi if hi > 0 else 1.0, n + 1)]


def _assumptions(automated_minutes: float) -> list[dict[str, str]]:
    return [
        {
            "vi": "Bỏ một bước: mọi bước sau của hồ sơ diễn ra sớm hơn đúng bằng thời gian bước "
            "đó đã chiếm (từ lúc bước liền trước hoàn thành tới lúc bước này hoàn thành).",
            "en": "Removing a step: every later step of the dossier happens earlier by exactly "
            "the time that step took (from the previous step's completion to its own).",
        },
        {
            "vi": f"Tự động hóa một bước: bước đó còn {automated_minutes:g} phút, không chờ.",
            "en": f"Automating a step: it takes {automated_minutes:g} minutes, with no waiting.",
        },
        {
            "vi": "Hàng đợi, khối lượng công việc của cán bộ và hành vi người dân giữ nguyên như "
            "đã quan sát; yêu cầu bổ sung do bước bị bỏ gây ra vẫn được giữ (ước tính thận trọng).",
            "en": "Queues, officers' workload and citizens' behaviour stay as observed; supplement "
            "requests the removed step triggered are kept (a conservative estimate).",
        },
        {
            "vi": "Đúng hạn tính lại theo cùng quy tắc hạn xử lý (ngày làm việc, trừ thời gian chờ "
            "bổ sung); hạn do nguồn cung cấp giữ nguyên.",
            "en": "On-time is recomputed with the same deadline rules (working days, supplement "
            "waits excluded); due dates given by the source are kept.",
        },
    ]


def whatif(
    store: EventStore,
    flt: LogFilter,
    remove: Sequence[str] = (),
    automate: Sequence[str] = (),
    by: str = "unit",
) -> dict:
    """The log of ``flt.procedure`` replayed without ``remove`` and with ``automate`` steps."""
    proc = require_procedure(flt, "whatif")
    result = whatif_from(load_steps(store, flt), proc, remove, automate, by)
    result["filter"] = flt.describe()
    return result
