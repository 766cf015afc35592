"""Delay where it is: waits before a step, and handoffs between units, that one unit pays far
more than the others.

A wait is the time from the previous step's completion to this step's start. For each
transition (previous step → step) and each unit (province, commune or org unit), the unit's
waits are compared with the **median of the other units**: the median over the other units'
dossiers, pooled (a unit with few dossiers weighs little). A unit whose median wait is at least
``wait_outlier_ratio`` times that, and ``wait_min_excess_days`` more, is a candidate; its
saving is what cutting each of its waits to that median would save, summed over its dossiers.
The what-if's ``cut_wait`` uses the same target (``peer_median``), so the advice and the
simulation agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mining.reform.catalog_view import database_label
from mining.reform.requirement import Requirement, required_reason
from mining.reform.steps import StepLog
from mining.reform.text import days, label, num, sentence, unit_name

# the step columns a wait comparison reads
WAIT_COLUMNS = ["case_id", "activity", "prev_activity", "org_unit", "prev_org_unit"]


def transition_waits(log: StepLog, proc: str, by: str) -> pd.DataFrame:
    """One row per step instance that has a previous step: its transition, its dossier's
    unit (``by``), its wait in hours and working days."""
    mine = (log.steps["procedure_code"] == proc) & log.steps["prev_activity"].notna()
    st = log.steps.loc[mine, [*WAIT_COLUMNS, "wait_h", "wait_wd"]]
    units = log.cases[by].astype("string").fillna("")
    return st.assign(unit=units.reindex(st["case_id"].to_numpy()).to_numpy())


def peer_median(waits: pd.Series, units: pd.Series, unit: str) -> float | None:
    """The median of ``waits`` of the units other than ``unit`` (None when there are none)."""
    others = waits[units.to_numpy() != unit]
    return None if others.empty else float(others.median())


def wait_candidates(
    log: StepLog, proc: str, by: str, units: list[str] | None, reqs: dict[str, Requirement]
) -> list[dict]:
    """The wait and handoff candidates of ``units`` (all units when None), unranked."""
    settings = log.settings
    waits = transition_waits(log, proc, by)
    rows = []
    for (prev, act), tr in waits.groupby(["prev_activity", "activity"], sort=True):
        per_unit = tr.groupby("unit")["wait_wd"]
        medians, sizes = per_unit.median(), per_unit.size()
        for unit in medians.index:
            if (units is not None and unit not in units) or not unit:
                continue
            if sizes[unit] < settings.wait_min_dossiers:
                continue
            target = peer_median(tr["wait_wd"], tr["unit"], unit)
            if target is None:
                continue
            here = medians[unit]
            if here < settings.wait_outlier_ratio * target:
                continue
            if here - target < settings.wait_min_excess_days:
                continue
            mine = tr[tr["unit"].to_numpy() == unit]
            rows.append(_row(log, proc, by, str(unit), str(prev), str(act), mine, tr, target,
                             reqs.get(str(act))))  # fmt: skip
    return rows


def _row(
    log: StepLog,
    proc: str,
    by: str,
    unit: str,
    prev: str,
    act: str,
    mine: pd.DataFrame,
    tr: pd.DataFrame,
    target: float,
    req: Requirement | None,
) -> dict:
    cut = np.maximum(mine["wait_wd"].to_numpy() - target, 0.0)
    dossiers = int(mine["case_id"].nunique())
    handoff = float((mine["prev_org_unit"] != mine["org_unit"]).mean())
    prev_info, info = log.info[(proc, prev)], log.info[(proc, act)]
    db = prev_info.interconnect or info.interconnect
    rec = "interconnect" if db else ("automate_transfer" if handoff >= 0.5 else "shorten_wait")
    kind = "handoff" if handoff >= 0.5 else "wait"
    name = unit_name(by, unit)
    others = int((tr["unit"].to_numpy() != unit).sum())
    here = float(mine["wait_wd"].median())
    rec_label = label(rec)
    if db is not None:
        names = database_label(db)
        rec_label = {
            "vi": f"Tự động chuyển hồ sơ, liên thông với {names[0]}",
            "en": f"Automate the transfer / interconnect with the {names[1]}",
        }
    what = ("Chuyển giao", "This handoff") if kind == "handoff" else ("Bước chờ", "This wait")
    reasons = [
        sentence(
            f"{what[0]} «{prev_info.label_vi}» → «{info.label_vi}» chờ {days(here, 'vi')} ở "
            f"{name['vi']} so với {days(target, 'vi')} ở các đơn vị khác (trung vị, "
            f"{num(others, 0, 'vi')} lượt), trên {num(dossiers, 0, 'vi')} hồ sơ.",
            f"{what[1]} «{prev_info.label_en}» → «{info.label_en}» waits {days(here, 'en')} "
            f"in {name['en']} against {days(target, 'en')} elsewhere (median of "
            f"{num(others, 0)}), over {num(dossiers, 0)} dossiers.",
        )
    ]
    if req is not None and req.required:
        reasons.append(
            required_reason(
                req,
                "đề xuất rút ngắn thời gian chờ trước bước",
                "advised: a shorter wait before it",
            )
        )
    return {
        "kind": kind,
        "step": act,
        "from_step": prev,
        "label": {
            "vi": f"«{prev_info.label_vi}» → «{info.label_vi}»",
            "en": f"«{prev_info.label_en}» → «{info.label_en}»",
        },
        "by": by,
        "unit": unit,
        "unit_name": name,
        **(req.as_dict() if req else {}),
        "recommendation": rec,
        "recommendation_label": rec_label,
        "evidence": {
            "dossiers": dossiers,
            "occurrences": len(mine),
            "median_wait_working_days": round(here, 2),
            "mean_wait_working_days": round(float(mine["wait_wd"].mean()), 2),
            "mean_wait_hours": round(float(mine["wait_h"].mean()), 2),
            "peer_median_working_days": round(target, 2),
            "peer_occurrences": others,
            "handoff_share": round(handoff, 4),
        },
        "saving": {
            "affected_dossiers": dossiers,
            "working_days_per_affected_dossier": round(float(cut.sum()) / dossiers, 2),
            "working_days_total": round(float(cut.sum()), 1),
            "visits_per_affected_dossier": 0.0,
            "visits_total": 0.0,
        },
        "whatif": {
            "action": "cut_wait",
            "step": act,
            "from_step": prev,
            "unit": unit,
            "target": "peer_median",
        },
        "reasons": reasons,
    }
