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


def _on_time_rate(status: pd.Series) -> float | None:
    judged = status[status.isin(["early", "on_time", "late"])]
    return round(float(judged.isin(ON_TIME).mean()), 4) if len(judged) else None


def _summary(cases: pd.DataFrame, cycle_wd: pd.Series, cycle_h: pd.Series, status, online):
    fin = cases["finished"].astype(bool)
    judged = cases["judged"].astype(bool)
    wd = cycle_wd[fin].dropna()
    return {
        "dossiers": len(cases),
        "finished": int(fin.sum()),
        "cycle_working_days": {
            "mean": round(float(wd.mean()), 3) if len(wd) else None,
            "median": round(float(wd.median()), 3) if len(wd) else None,
            "p90": round(float(wd.quantile(0.9)), 3) if len(wd) else None,
        },
        "cycle_hours_mean": round(float(cycle_h[fin].mean()), 3) if fin.any() else None,
        "on_time_rate": _on_time_rate(status[fin]),
        "full_online_share": round(float(online[judged].mean()), 4) if judged.any() else None,
    }


def _hours(hours: pd.Series) -> pd.Series:
    """Hours (floats) as timedeltas, to the microsecond, in one numpy cast (``to_timedelta``
    with a unit goes value by value)."""
    micros = np.round(hours.to_numpy(dtype=float) * 3.6e9)
    return pd.Series(micros.astype("timedelta64[us]"), index=hours.index)


def _scenario_status(
    log: StepLog, cases: pd.DataFrame, kept: pd.DataFrame, shift_h: pd.Series, proc: str
) -> pd.Series:
    """On-time status of the replayed dossiers, by ``mining.deadlines``' own rules."""
    con = connect()
    new_cases = pd.DataFrame(
        {
            "case_id": cases.index,
            "procedure_code": proc,
            # ``.array``: ``to_numpy`` turns a zoned column into Timestamp objects, parsed
            # back one by one here
            "first_ts": cases["received"].array,
            "last_ts": (cases["ended"] - _hours(shift_h)).array,
            "finished": cases["finished"].astype(bool).to_numpy(),
            "due_attr": cases["due_attr"].array,
        }
    )
    new_steps = kept[["case_id", "activity", "start_ts", "complete_ts", "seq"]].rename(
        columns={"complete_ts": "end_ts"}
    )
    con.register("_c", new_cases)
    con.register("_s", new_steps)
    con.execute("CREATE TEMP TABLE cases AS SELECT * FROM _c")
    con.execute("CREATE TEMP TABLE steps AS SELECT * FROM _s")
    con.execute("CREATE TEMP TABLE log AS SELECT end_ts AS timestamp FROM steps")
    deadline = procedure_deadline(proc)
    build_deadlines(con, {proc: deadline} if deadline is not None else None, as_of=log.as_of)
    status = con.sql("SELECT case_id, status FROM deadlines").df().set_index("case_id")
    return status["status"].reindex(cases.index)


def whatif_from(
    log: StepLog,
    proc: str,
    remove: Sequence[str] = (),
    automate: Sequence[str] = (),
    by: str = "unit",
) -> dict:
    settings = get_settings()
    steps = log.steps[log.steps["procedure_code"] == proc].copy()
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
    automated_h = settings.automated_step_minutes / 60.0
    removed = steps["activity"].isin(remove)
    auto = steps["activity"].isin(automate) & ~removed
    delta = np.where(removed, steps["segment_h"], 0.0)
    delta = np.where(auto, np.maximum(steps["segment_h"] - automated_h, 0.0), delta)
    steps["delta_h"] = delta
    shift = steps.groupby("case_id", sort=False)["delta_h"].cumsum()
    shift_before = shift - steps["delta_h"]
    kept = steps[~removed].copy()
    td = _hours(shift[~removed])
    kept["complete_ts"] = kept["complete_ts"] - td
    kept["start_ts"] = kept["start_ts"] - _hours(shift_before[~removed])
    is_auto = auto[~removed]
    kept.loc[is_auto, "start_ts"] = kept.loc[is_auto, "complete_ts"]

    total = steps.groupby("case_id")["delta_h"].sum().reindex(cases.index, fill_value=0.0)
    new_end = cases["ended"] - _hours(total)
    new_cycle_h = cases["cycle_h"] - total
    new_cycle_wd = working_days(cases["received"], new_end)
    changed = steps[removed | auto]
    blockers = kept[kept["blocks_online"]].groupby("case_id").size()
    new_online = cases["judged"].astype(bool) & ~cases.index.isin(blockers.index)
    new_status = _scenario_status(log, cases, kept, total, proc)

    affected = cases.index.isin(changed["case_id"])
    per_step = []
    for name in [*remove, *automate]:
        mine = steps[steps["activity"] == name].groupby("case_id")["delta_h"].sum()
        per_step.append(
            {
                "step": name,
                "action": "remove" if name in remove else "automate",
                "dossiers": len(mine),
                "saving_hours_per_affected_dossier": round(float(mine.mean()), 3),
            }
        )

    def compare(mask: pd.Series) -> dict:
        c = cases[mask]
        return {
            "baseline": _summary(
                c, c["cycle_wd"], c["cycle_h"], c["status"], c["full_online"].astype(bool)
            ),
            "scenario": _summary(
                c, new_cycle_wd[mask], new_cycle_h[mask], new_status[mask], new_online[mask]
            ),
        }

    overall = compare(pd.Series(True, index=cases.index))
    units = []
    for unit in sorted(cases[by].dropna().unique()):
        row = compare(cases[by] == unit)
        row[by] = str(unit)
        units.append(row)
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
