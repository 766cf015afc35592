"""Reform candidates: every step of a procedure, and the waits and handoffs one unit pays far
more than the others (``waits``), each with its evidence and a recommendation.

The saving of removing a step is what it costs the dossiers that have it: its completion
minus the completion of the step before it (waiting before it plus its service time),
summed per dossier. A step the law requires (``requirement``) is never advised for removal
or merge. Rows are ranked by the total working days they save across dossiers (days per
affected dossier × dossiers), then by the in-person visits they save.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from dvcflow.settings import Settings
from ingest.store import EventStore
from mining.filters import LogFilter
from mining.reform.catalog_view import StepInfo, database_label, procedure_name
from mining.reform.requirement import Requirement, required_reason, requirements
from mining.reform.source import load_steps, peer_view, require_procedure
from mining.reform.steps import StepLog
from mining.reform.text import label, num, pct, sentence
from mining.reform.waits import wait_candidates

MIN_SKIPPERS = 10  # fewer dossiers skipping a step say nothing about skipping it
SKIP_TOLERANCE = 0.02  # skippers' approval rate may be this much lower and still "no worse"
CHECK_KINDS = ("verification", "appraisal")


def _mean(series: pd.Series) -> float | None:
    return None if series.empty else round(float(series.mean()), 4)


def _recommend(si: StepInfo, ev: dict, max_failure: float, req: Requirement) -> str:
    """The advice for a step; a required one is never removed or merged."""
    rec = _advice(si, ev, max_failure)
    if req.is_result and rec in ("remove", "merge", "replace_by_data"):
        return "keep"
    if req.required and rec in ("remove", "merge"):
        return "automate" if si.actor == "system" or si.kind == "transfer" else "keep"
    return rec


def _advice(si: StepInfo, ev: dict, max_failure: float) -> str:
    kind = si.kind
    low_fail = ev["failure_rate"] is not None and ev["failure_rate"] <= max_failure
    if si.is_request_supplement or kind == "supplement":
        return "keep"
    if not si.known:
        # outside the catalog only the log speaks: remove when skipping it is no worse
        return "remove" if low_fail and ev["skip_no_worse"] else "keep"
    if kind in CHECK_KINDS:
        if si.replaceable_by_data:
            return "replace_by_data"
        if low_fail and (si.optional or ev["skip_no_worse"]):
            return "remove"
        if si.actor == "system":
            return "keep"
        mergeable = kind == "verification" and ev["previous_step"] is not None
        if mergeable and low_fail and ev["same_unit_as_previous"] >= 0.9:
            return "merge"  # a second check by the same unit: do both in one pass
    if kind == "transfer":
        return "automate"
    if si.citizen_facing and (si.requires_presence or ev["in_person_share"] >= 0.2):
        return "make_online"
    if kind == "payment" and ev["paid_offline_share"] >= 0.2:
        return "make_online"
    return "keep"


def _saving(rec: str, ev: dict, automated_h: float) -> tuple[float, float]:
    """(hours, working days) saved per dossier that has the step."""
    if rec in ("remove", "replace_by_data"):
        return ev["segment_hours"], ev["segment_working_days"]
    if rec == "automate":
        cut = max(ev["segment_hours"] - automated_h, 0.0)
        share = cut / ev["segment_hours"] if ev["segment_hours"] else 0.0
        return cut, ev["segment_working_days"] * share
    if rec == "merge":
        share = ev["wait_hours"] / ev["segment_hours"] if ev["segment_hours"] else 0.0
        return ev["wait_hours"], ev["segment_working_days"] * min(share, 1.0)
    return 0.0, 0.0


_KEPT_AS = {  # how a required step can still be reformed, by its advice
    "replace_by_data": ("đề xuất thay giấy tờ bằng khai thác dữ liệu", "advised: data reuse"),
    "automate": ("đề xuất tự động hóa", "advised: automation"),
    "make_online": ("đề xuất chuyển sang trực tuyến", "advised: doing it online"),
    "keep": (
        "có thể rút ngắn thời gian chờ trước bước",
        "the wait before it can still be cut",
    ),
}


def _reasons(
    si: StepInfo, ev: dict, rec: str, req: Requirement, max_failure: float
) -> list[dict[str, str]]:
    out = [
        sentence(
            f"Có ở {pct(ev['dossier_share'], 'vi')} hồ sơ; hồ sơ chờ trung bình "
            f"{num(ev['wait_hours'], 1, 'vi')} giờ trước bước này và bước này mất "
            f"{num(ev['service_hours'], 1, 'vi')} giờ xử lý.",
            f"Occurs in {pct(ev['dossier_share'])} of dossiers; they wait "
            f"{num(ev['wait_hours'])} hours before it on average and it takes "
            f"{num(ev['service_hours'])} hours of work.",
        )
    ]
    if ev["failure_rate"] is not None and si.kind in CHECK_KINDS:
        out.append(
            sentence(
                f"Bước kiểm tra này chỉ dẫn tới yêu cầu bổ sung hoặc từ chối ở "
                f"{pct(ev['failure_rate'], 'vi')} trường hợp.",
                f"This check led to a supplement request or a refusal in only "
                f"{pct(ev['failure_rate'])} of cases.",
            )
            if ev["failure_rate"] <= max_failure
            else sentence(
                f"Bước kiểm tra này dẫn tới yêu cầu bổ sung hoặc từ chối ở "
                f"{pct(ev['failure_rate'], 'vi')} trường hợp.",
                f"This check led to a supplement request or a refusal in "
                f"{pct(ev['failure_rate'])} of cases.",
            )
        )
    sk = ev["skipped"]
    if sk["dossiers"] >= MIN_SKIPPERS and sk["approved_share"] is not None:
        out.append(
            sentence(
                f"{num(sk['dossiers'], 0, 'vi')} hồ sơ không qua bước này: "
                f"{pct(sk['approved_share'], 'vi')} "
                f"được chấp thuận (so với {pct(ev['with_step']['approved_share'], 'vi')}), "
                f"thời gian {num(sk['mean_working_days'], 1, 'vi')} so với "
                f"{num(ev['with_step']['mean_working_days'], 1, 'vi')} ngày làm việc.",
                f"{num(sk['dossiers'], 0)} dossiers skipped it: "
                f"{pct(sk['approved_share'])} approved "
                f"(vs {pct(ev['with_step']['approved_share'])}), "
                f"{num(sk['mean_working_days'])} vs "
                f"{num(ev['with_step']['mean_working_days'])} working days.",
            )
        )
    if si.requires_presence or ev["in_person_share"] > 0:
        out.append(
            sentence(
                f"{pct(ev['in_person_share'], 'vi')} lần thực hiện người dân phải đến trực tiếp"
                + ("; danh mục quy định phải có mặt." if si.requires_presence else "."),
                f"{pct(ev['in_person_share'])} of occurrences needed the citizen in person"
                + ("; the catalog requires presence." if si.requires_presence else "."),
            )
        )
    if si.paper:
        out.append(sentence("Bước này dùng giấy tờ bản giấy.", "This step works on paper."))
    db = database_label(si.replaceable_by_data)
    if db is not None:
        out.append(
            sentence(
                f"Thông tin có thể lấy từ {db[0]} thay cho giấy tờ người dân nộp.",
                f"The information can be taken from the {db[1]} instead of the citizen's papers.",
            )
        )
    if req.required:
        out.append(required_reason(req, *_KEPT_AS.get(rec, _KEPT_AS["keep"])))
    if rec == "merge":
        out.append(
            sentence(
                f"Cùng đơn vị với bước trước ({ev['previous_step']}) ở "
                f"{pct(ev['same_unit_as_previous'], 'vi')} trường hợp; gộp lại thì bỏ được "
                "thời gian chờ giữa hai bước (ước tính lạc quan nếu cán bộ vẫn quá tải).",
                f"Done by the same unit as the previous step ({ev['previous_step']}) in "
                f"{pct(ev['same_unit_as_previous'])} of cases; merged, the wait between the two "
                "goes (an optimistic estimate if the officers stay overloaded).",
            )
        )
    return out


# the step columns ``_evidence`` reads
_EVIDENCE_COLUMNS = (
    "activity", "case_id", "channel", "failed", "kind", "org_unit", "prev_activity",
    "prev_org_unit", "service_h", "wait_h", "segment_h", "segment_wd", "fee_paid_online",
)  # fmt: skip


def _evidence(st: pd.DataFrame, cases: pd.DataFrame, finished: pd.DataFrame) -> dict:
    """What the log says of one step: ``st`` its instances, ``cases`` the procedure's
    dossiers, ``finished`` those of them that finished."""
    having = st["case_id"].unique()  # an array: ``isin`` would copy a set into one
    has_step = finished.index.isin(having)
    with_step = finished[has_step]
    skipped = finished[~has_step]
    per_case = st.groupby("case_id")[["segment_h", "segment_wd"]].sum()
    prev = st["prev_activity"].dropna()
    previous_step = str(prev.mode().iloc[0]) if not prev.empty else None
    same_unit = (st["prev_org_unit"] == st["org_unit"]) & (st["prev_activity"] == previous_step)
    payments = st[st["kind"] == "payment"]

    def group(frame: pd.DataFrame) -> dict:
        return {
            "dossiers": len(frame),
            "approved_share": _mean((frame["outcome"] == "approved").astype(float))
            if frame["outcome"].notna().any()
            else None,
            "mean_working_days": _mean(frame["cycle_wd"].dropna()),
        }

    ev = {
        "occurrences": len(st),
        "dossiers": len(having),
        "dossier_share": round(len(having) / len(cases), 4) if len(cases) else 0.0,
        "wait_hours": _mean(st["wait_h"]) or 0.0,
        "service_hours": _mean(st["service_h"]) or 0.0,
        "segment_hours": _mean(per_case["segment_h"]) or 0.0,
        "segment_working_days": _mean(per_case["segment_wd"]) or 0.0,
        "failure_rate": _mean(st["failed"].astype(float)),
        "in_person_share": _mean((st["channel"] == "counter").astype(float)) or 0.0,
        "visits_per_dossier": round((st["channel"] == "counter").sum() / len(having), 4)
        if len(having)
        else 0.0,
        "paid_offline_share": _mean(payments["fee_paid_online"].eq(False).astype(float)) or 0.0,
        "previous_step": previous_step,
        "same_unit_as_previous": _mean(same_unit.astype(float)) or 0.0,
        "with_step": group(with_step),
        "skipped": group(skipped),
    }
    sk, ws = ev["skipped"], ev["with_step"]
    ev["skip_no_worse"] = bool(
        sk["dossiers"] >= MIN_SKIPPERS
        and sk["approved_share"] is not None
        and ws["approved_share"] is not None
        and sk["approved_share"] >= ws["approved_share"] - SKIP_TOLERANCE
    )
    return ev


def _database(code: str | None) -> dict[str, str] | None:
    names = database_label(code)
    return None if names is None else {"vi": names[0], "en": names[1]}


_WHATIF = {"remove": "remove", "replace_by_data": "data_reuse", "automate": "automate"}


def _step_row(
    si: StepInfo, ev: dict, rec: str, req: Requirement, automated_h: float, max_failure: float
) -> dict:
    hours, wdays = _saving(rec, ev, automated_h)
    visits = ev["visits_per_dossier"] if rec in ("remove", "replace_by_data", "make_online") else 0
    action = _WHATIF.get(rec)
    if rec == "merge":
        whatif = {"action": "cut_wait", "step": si.code, "from_step": ev["previous_step"],
                  "target": 0.0}  # fmt: skip
    else:
        whatif = {"action": action, "step": si.code} if action else None
    return {
        "kind": "step",
        "step": si.code,
        "from_step": None,
        "label": {"vi": si.label_vi, "en": si.label_en},
        "by": None,
        "unit": None,
        "unit_name": None,
        "step_kind": si.kind,
        "in_catalog": si.known,
        "requires_presence": si.requires_presence,
        "paper": si.paper,
        "replaceable_by_data": si.replaceable_by_data,
        "database": _database(si.replaceable_by_data),
        "optional": si.optional,
        **req.as_dict(),
        "evidence": ev,
        "recommendation": rec,
        "recommendation_label": label(rec),
        "saving": {
            "affected_dossiers": ev["dossiers"],
            "hours_per_affected_dossier": round(hours, 2),
            "working_days_per_affected_dossier": round(wdays, 2),
            "visits_per_affected_dossier": round(visits, 3),
            "working_days_total": round(wdays * ev["dossiers"], 1),
            "visits_total": round(visits * ev["dossiers"], 1),
        },
        "whatif": whatif,
        "reasons": _reasons(si, ev, rec, req, max_failure),
    }


def _rank_key(row: dict) -> tuple:
    """Advice first, then by working days saved across dossiers, then visits saved."""
    s = row["saving"]
    return (row["recommendation"] == "keep", -s["working_days_total"], -s["visits_total"],
            row["kind"], row["step"], row["unit"] or "")  # fmt: skip


def candidates_from(
    log: StepLog,
    proc: str,
    by: str = "province_code",
    focus: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
) -> dict:
    """Ranked candidates of ``proc``: its steps (over the ``focus`` dossiers: those whose
    columns have the given values, all when None) and the waits and handoffs in which a
    ``by`` unit of the focus lags behind the other units of ``log``; under the settings
    ``log`` was read with."""
    settings = log.settings
    focus = dict(focus) if focus else None
    automated_h = settings.automated_step_minutes / 60.0
    cases = log.cases[log.cases["procedure_code"] == proc]
    for column, value in (focus or {}).items():
        cases = cases[cases[column].astype("string") == value]
    acts = sorted(
        {a for p, a in log.info if p == proc}, key=lambda a: (log.info[(proc, a)].order, a)
    )
    # one split of the procedure's steps by activity, not a scan of every step per activity,
    # and of the columns ``_evidence`` reads only
    proc_steps = log.steps.loc[log.steps["procedure_code"] == proc, list(_EVIDENCE_COLUMNS)]
    if focus:
        proc_steps = proc_steps[proc_steps["case_id"].isin(cases.index.to_numpy())]
    by_activity = dict(tuple(proc_steps.groupby("activity", sort=False)))
    finished = cases[cases["finished"].astype(bool)]
    evidence = {
        act: _evidence(by_activity.get(act, proc_steps.iloc[:0]), cases, finished) for act in acts
    }
    reqs = requirements(log, proc, {a: ev["skip_no_worse"] for a, ev in evidence.items()})
    rows = []
    for act in acts:
        si, ev = log.info[(proc, act)], evidence[act]
        if not ev["dossiers"]:
            continue  # the focus dossiers never pass it
        rec = _recommend(si, ev, settings.candidate_max_failure, reqs[act])
        rows.append(_step_row(si, ev, rec, reqs[act], automated_h, settings.candidate_max_failure))
    units = sorted(set(cases[by].dropna().astype(str))) if focus else None
    rows += wait_candidates(log, proc, by, units, reqs)
    rows.sort(key=_rank_key)
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return {
        "procedure": proc,
        "name": procedure_name(proc, settings),
        "dossiers": len(cases),
        "by": by,
        "focus": focus or {},
        "candidates": rows,
        "method": {
            "vi": "Tiết kiệm của một bước = thời điểm hoàn thành bước trừ thời điểm hoàn thành "
            "bước liền trước (thời gian chờ + xử lý), tính trên các hồ sơ có bước đó; của một "
            "bước chờ/chuyển giao = phần vượt trung vị của các đơn vị khác. «Mỗi hồ sơ» là "
            "trên một hồ sơ bị ảnh hưởng; «tổng» = số ngày × số hồ sơ, dùng để xếp hạng, rồi "
            "đến số lượt người dân phải đến trực tiếp được bớt.",
            "en": "A step's saving = its completion minus the completion of the step before "
            "it (waiting + service), over the dossiers that have it; a wait's or handoff's = "
            "what exceeds the other units' median. 'Per dossier' is per affected dossier; "
            "'total' = days × dossiers, which ranks the rows, then the in-person visits saved.",
        },
    }


def candidates(
    store: EventStore,
    flt: LogFilter,
    compare_outside: bool = True,
    by: str | None = None,
    settings: Settings | None = None,
) -> dict:
    """Ranked candidates of ``flt.procedure``; its units compared with the others outside
    the location filters when ``compare_outside`` (the viewer may read them)."""
    proc = require_procedure(flt, "reform")
    peers, focus, default_by = peer_view(flt, compare_outside)
    result = candidates_from(load_steps(store, peers, settings), proc, by or default_by, focus)
    result["filter"] = flt.describe()
    return result
