"""What-if: replay a procedure's log with changes, per unit.

Changes (``Change``): remove a step; automate it (its time → ``automated_step_minutes``);
replace a paper check by data reuse (automated, no visit, and the supplement loops it
triggered and its repeats gone); cut the wait before a step (optionally only after a given
previous step: a handoff) to a target in working days or to the median of the other units
(``waits.peer_median``, the target the candidates use). Each may apply to one unit only.

Deterministic: every later step of a dossier moves earlier by exactly the time a change took
out. Nothing else changes: queues, officers' workload and the citizen's behaviour stay as
observed. On-time status is recomputed by the mining core's deadline rules on the replayed
dossiers; full-online status and visits drop the removed, automated and reused steps.
A step that produces or returns the procedure's result cannot be removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings
from ingest.store import EventStore
from mining.deadlines import build_deadlines
from mining.filters import LogFilter
from mining.log import connect
from mining.reform.catalog_view import procedure_deadline, procedure_name
from mining.reform.requirement import result_steps_of
from mining.reform.source import load_steps, peer_view, require_procedure
from mining.reform.steps import StepLog
from mining.reform.timing import working_days
from mining.reform.waits import peer_median

ON_TIME = ("early", "on_time")


class ScenarioError(DvcflowError):
    """A what-if the log cannot answer: an unknown step or unit, the result removed."""


class UnknownStepError(ScenarioError):
    """A what-if names a step that the procedure's log does not have."""


Action = Literal["remove", "automate", "data_reuse", "cut_wait"]
ACTIONS: tuple[str, ...] = ("remove", "automate", "data_reuse", "cut_wait")
PEER_MEDIAN = "peer_median"


@dataclass(frozen=True)
class Change:
    """One change of a scenario. ``unit``: only the dossiers whose ``by`` column has this
    value. ``from_step`` and ``target`` (working days, or ``"peer_median"``): ``cut_wait``."""

    action: Action
    step: str
    unit: str | None = None
    from_step: str | None = None
    target: float | str | None = None

    def __lt__(self, other: Change) -> bool:  # an order, for cache keys of scenarios
        return self.describe() < other.describe()

    def describe(self) -> str:
        where = f" in {self.unit}" if self.unit else ""
        after = f" after {self.from_step}" if self.from_step else ""
        to = f" to {self.target}" if self.action == "cut_wait" else ""
        return f"{self.action} {self.step}{after}{where}{to}"


# The step columns a replay reads: not the wide frame (copying it cost more than the replay).
_REPLAY_COLUMNS = [
    "case_id", "activity", "segment_h", "start_ts", "complete_ts", "seq", "prev_activity",
    "wait_h", "wait_wd", "blocks_online", "channel", "citizen_facing", "kind",
    "is_request_supplement", "failed",
]  # fmt: skip


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
                "visits": groups[f"visits_{side}"].mean(),
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
                "visits_per_dossier": _rounded(row["visits"], 3),
            }
    return out


def _rounded(value: float, digits: int) -> float | None:
    return None if pd.isna(value) else round(float(value), digits)


def _figures(
    cases: pd.DataFrame, new_wd, new_h, new_status, new_online, visits, new_visits
) -> pd.DataFrame:
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
            "visits_baseline": np.asarray(visits, dtype=float),
            "visits_scenario": np.asarray(new_visits, dtype=float),
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
    con = connect(log.settings)
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
    deadline = procedure_deadline(proc, log.settings)
    known = {proc: deadline} if deadline is not None else None
    build_deadlines(con, known, as_of=log.as_of, settings=log.settings)
    order = "ORDER BY case_id::BIGINT"  # ``deadlines`` holds the keys as text
    status = con.sql(f"SELECT status FROM deadlines {order}").fetchnumpy()["status"]
    return np.asarray(status, dtype=object)


def _check(log: StepLog, proc: str, steps: pd.DataFrame, changes: Sequence[Change]) -> None:
    """Every change names a known step and action; none removes the result."""
    if not changes:
        raise ScenarioError(
            "what-if needs at least one change (--remove, --automate, --reuse-data or --cut-wait)."
        )
    known = sorted(set(steps["activity"]))
    protected = result_steps_of(log, proc)
    for c in changes:
        if c.action not in ACTIONS:
            raise ScenarioError(f"action {c.action!r} is not one of {', '.join(ACTIONS)}.")
        for name in (c.step, c.from_step):
            if name is not None and name not in known:
                raise UnknownStepError(
                    f"{c.action} {name}: procedure {proc} has no step {name!r} in the "
                    f"selected log (its steps: {', '.join(known)})."
                )
        if c.action == "remove" and c.step in protected:
            raise ScenarioError(
                f"remove {c.step}: this step produces or returns the result of procedure "
                f"{proc}, so it cannot be removed; automate it, reuse data or cut the wait "
                "before it instead."
            )
        if c.action == "cut_wait":
            if c.target is None or (isinstance(c.target, str) and c.target != PEER_MEDIAN):
                raise ScenarioError(
                    f"cut_wait {c.step}: target must be a number of working days or "
                    f"{PEER_MEDIAN!r}, got {c.target!r}."
                )
            if c.target == PEER_MEDIAN and c.unit is None:
                raise ScenarioError(
                    f"cut_wait {c.step} to {PEER_MEDIAN}: name the unit whose wait is cut to "
                    "the median of the other units."
                )
            if not isinstance(c.target, str) and float(c.target) < 0:
                raise ScenarioError(f"cut_wait {c.step}: target {c.target} is negative.")


def _deltas(
    steps: pd.DataFrame, units: np.ndarray, changes: Sequence[Change], automated_h: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """Per step row: dropped?, automated?, wait cut?, data reused?, hours taken out; and
    per change what it took out (``delta`` of the rows it touched) and its target."""
    n = len(steps)
    activity = steps["activity"].to_numpy()
    prev = steps["prev_activity"].to_numpy()
    segment = steps["segment_h"].to_numpy(dtype=float)
    wait_h = steps["wait_h"].to_numpy(dtype=float)
    wait_wd = steps["wait_wd"].to_numpy(dtype=float)
    drop, auto, cut, reused = (np.zeros(n, dtype=bool) for _ in range(4))
    delta = np.zeros(n)
    case_ids = steps["case_id"].to_numpy()
    supplement = (steps["kind"].to_numpy() == "supplement") | steps[
        "is_request_supplement"
    ].to_numpy(dtype=bool)
    # the last non-supplement step before each row of its dossier: a supplement row whose
    # anchor is the reused check belongs to the loop that check triggered
    anchor = pd.Series(np.where(supplement, None, activity)).groupby(case_ids).ffill()
    first_time = ~pd.DataFrame({"c": case_ids, "a": activity}).duplicated().to_numpy()
    same_case_next = np.append(case_ids[1:] == case_ids[:-1], False)
    supplement_next = np.append(supplement[1:], False) & same_case_next
    refused = steps["failed"].to_numpy(dtype=bool) & ~supplement_next
    report = []
    for c in changes:
        scope = np.ones(n, dtype=bool) if c.unit is None else units == c.unit
        rows = scope & (activity == c.step) & ~drop
        target = None
        if c.action == "remove":
            hit = rows
            drop |= hit
            take = segment
        elif c.action == "automate":
            hit = rows
            auto |= hit
            take = np.maximum(segment - automated_h, 0.0)
        elif c.action == "data_reuse":
            repeat = rows & ~first_time
            loop = scope & supplement & (anchor.to_numpy() == c.step) & ~drop
            hit = rows | loop
            drop |= repeat | loop
            auto |= rows & first_time
            reused |= rows & first_time
            take = np.where(rows & first_time, np.maximum(segment - automated_h, 0.0), segment)
        else:  # cut_wait
            hit = rows & ((prev == c.from_step) if c.from_step else ~pd.isna(prev))
            if c.target == PEER_MEDIAN:
                peers = (activity == c.step) & ((prev == c.from_step) if c.from_step else True)
                peers &= ~pd.isna(prev)
                target = peer_median(pd.Series(wait_wd[peers]), pd.Series(units[peers]), c.unit)
                if target is None:
                    raise ScenarioError(
                        f"cut_wait {c.step} to {PEER_MEDIAN}: no other unit has this step."
                    )
            else:
                target = float(c.target)
            keep = np.divide(target, wait_wd, out=np.ones(n), where=wait_wd > target)
            take = wait_h * (1.0 - np.minimum(keep, 1.0))
            cut |= hit & (take > 0)
        taken = np.where(hit, take, 0.0)
        delta += taken
        extra = {}
        if c.action == "data_reuse":  # what the paper check cost besides its own time
            extra = {
                "supplement_loops_removed": int(len(np.unique(case_ids[loop]))),
                "refused_after_check": int(len(np.unique(case_ids[rows & refused]))),
            }
        report.append(
            {
                **extra,
                **{k: v for k, v in asdict(c).items() if v is not None},
                "target_working_days": None if target is None else round(target, 3),
                "dossiers": int(len(np.unique(case_ids[hit & (taken > 0)]))),
                "saving_hours_total": round(float(taken.sum()), 1),
                "_taken": float(taken.sum()),
            }
        )
    return drop, auto, cut, reused, delta, report


def whatif_from(
    log: StepLog,
    proc: str,
    remove: Sequence[str] = (),
    automate: Sequence[str] = (),
    by: str = "unit",
    changes: Sequence[Change] = (),
    focus: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
) -> dict:
    """The scenario of ``changes`` (plus ``remove`` and ``automate``, all units) replayed on
    ``proc``; overall figures over the ``focus`` dossiers, and per ``by`` unit; under the
    settings ``log`` was read with."""
    settings = log.settings
    focus = dict(focus) if focus else None
    changes = [
        *(Change("remove", s) for s in remove),
        *(Change("automate", s) for s in automate),
        *changes,
    ]
    mine = log.steps["procedure_code"].to_numpy() == proc
    steps = log.steps.loc[mine, _REPLAY_COLUMNS]
    cases = log.cases[log.cases["procedure_code"] == proc]
    _check(log, proc, steps, changes)
    if not steps["case_id"].is_monotonic_increasing:  # a StepLog is ordered; be sure
        steps = steps.sort_values(["case_id", "seq"], kind="stable")
    unit_of = cases[by].astype("string").fillna("")
    units = unit_of.reindex(steps["case_id"].to_numpy()).to_numpy(dtype=object)
    for c in changes:
        if c.unit is not None and c.unit not in set(unit_of):
            raise ScenarioError(
                f"{c.action} {c.step} in {c.unit}: no dossier of {proc} has {by} {c.unit!r}."
            )
    automated_h = settings.automated_step_minutes / 60.0
    drop, auto, cut, reused, delta, report = _deltas(steps, units, changes, automated_h)

    activity = steps["activity"].to_numpy()
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

    keep = ~drop
    tz = steps["complete_ts"].dt.tz
    complete = _utc(steps["complete_ts"])[keep] - _hours(shift[keep])
    # a step starts earlier by the shift before it, plus its own cut wait
    start_shift = shift - np.where(cut, 0.0, delta)
    start = _utc(steps["start_ts"])[keep] - _hours(start_shift[keep])
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
    new_cycle_wd = working_days(cases["received"], new_end, settings)
    blocks = steps["blocks_online"].to_numpy(dtype=float)
    blocked = per_dossier(blocks, keep & ~reused & ~auto) > 0
    new_online = cases["judged"].astype(bool) & ~blocked
    visit = (
        (steps["channel"].to_numpy() == "counter") & steps["citizen_facing"].to_numpy(dtype=bool)
    ).astype(float)
    visits = per_dossier(visit)
    new_visits = per_dossier(visit, keep & ~reused & ~auto)
    new_status = _scenario_status(log, cases, kept, new_end, proc)

    affected = per_dossier((drop | auto | cut).astype(float)) > 0
    figures = _figures(cases, new_cycle_wd, new_cycle_h, new_status, new_online, visits, new_visits)
    in_focus = pd.Series(True, index=cases.index)
    for column, value in (focus or {}).items():
        in_focus &= cases[column].astype("string") == value
    overall = _summaries(figures[in_focus.to_numpy()])[0]
    per_unit = _summaries(figures.assign(unit=unit_of), "unit")
    units_out = [row | {by: str(unit)} for unit, row in per_unit.items()]
    fin = cases["finished"].astype(bool) & in_focus
    saved_wd = (cases["cycle_wd"] - new_cycle_wd)[affected & fin]
    _contributions(report, overall)
    edges = _bins(pd.concat([cases["cycle_wd"][fin], new_cycle_wd[fin]]).dropna())
    return {
        "procedure": proc,
        "name": procedure_name(proc, settings),
        "remove": [c.step for c in changes if c.action == "remove"],
        "automate": [c.step for c in changes if c.action == "automate"],
        "changes": report,
        "focus": focus or {},
        "affected_dossiers": int((affected & in_focus).sum()),
        "saving_hours_per_affected_dossier": round(float(total[affected & in_focus].mean()), 3)
        if (affected & in_focus).any()
        else 0.0,
        "saving_working_days_per_affected_dossier": round(float(saved_wd.mean()), 3)
        if len(saved_wd)
        else 0.0,
        "saving_working_days_total": round(float(saved_wd.sum()), 1),
        "steps": report,
        **overall,
        "by": by,
        "units": units_out,
        "distribution": {
            "bin_edges_working_days": edges,
            "baseline": np.histogram(cases["cycle_wd"][fin].dropna(), bins=edges)[0].tolist(),
            "scenario": np.histogram(new_cycle_wd[fin].dropna(), bins=edges)[0].tolist(),
        },
        "assumptions": _assumptions(settings.automated_step_minutes),
    }


def _contributions(report: list[dict], overall: dict) -> None:
    """Each change's part of the mean cycle-time change (working days), in proportion to the
    hours it took out: the steps of the before/after waterfall."""
    base = overall["baseline"]["cycle_working_days"]["mean"]
    new = overall["scenario"]["cycle_working_days"]["mean"]
    taken = sum(r["_taken"] for r in report)
    for r in report:
        share = r.pop("_taken") / taken if taken else 0.0
        change = (new - base) * share if base is not None and new is not None else None
        r["cycle_working_days_mean_change"] = None if change is None else round(change, 3)


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
            "vi": "Thay giấy tờ bằng khai thác dữ liệu: bước kiểm tra còn "
            f"{automated_minutes:g} phút, không cần người dân đến; các vòng yêu cầu/nộp bổ sung "
            "ngay sau bước đó và các lần kiểm tra lại bị bỏ. Hồ sơ bị từ chối vẫn bị từ chối "
            "(lý do có thể là điều kiện, không phải giấy tờ).",
            "en": f"Data reuse instead of a paper check: the check takes {automated_minutes:g} "
            "minutes with no visit; the supplement request/submission loops right after it and "
            "its repeats go. Refused dossiers stay refused (the reason may be eligibility, not "
            "paper).",
        },
        {
            "vi": "Rút ngắn thời gian chờ: mỗi lần chờ dài hơn mức mục tiêu (ngày làm việc, hoặc "
            "trung vị các lần chờ của các đơn vị khác) được rút về đúng mức đó; lần chờ ngắn hơn "
            "giữ nguyên.",
            "en": "Cutting a wait: each wait longer than the target (working days, or the median "
            "of the other units' waits) is cut to it; shorter waits stay as they are.",
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
    by: str | None = None,
    changes: Sequence[Change] = (),
    compare_outside: bool = True,
    settings: Settings | None = None,
) -> dict:
    """The log of ``flt.procedure`` replayed with ``changes`` (and without ``remove``, with
    ``automate`` steps); a province or commune filter is the focus, compared with the other
    units when ``compare_outside`` (see ``source.peer_view``)."""
    proc = require_procedure(flt, "whatif")
    peers, focus, default_by = peer_view(flt, compare_outside)
    log = load_steps(store, peers, settings)
    result = whatif_from(log, proc, remove, automate, by or default_by, changes, focus)
    result["filter"] = flt.describe()
    return result
