"""Full-online readiness: which finished dossiers were full-online and what stopped the rest.

Decree 42/2022: a dossier is full-online (toàn trình) when every citizen-facing step was
online and the result went back online or by public post. A blocker is a citizen-facing
step done at the counter (or by post, for anything but the result), or a fee paid offline.
Only dossiers whose result was returned are judged (for procedures outside the catalog:
finished dossiers, i.e. the last event carries an outcome).
"""

from __future__ import annotations

import pandas as pd

from dvcflow.settings import Settings
from ingest.store import EventStore
from mining.filters import LogFilter
from mining.reform.catalog_view import procedure_name
from mining.reform.source import load_steps
from mining.reform.steps import StepLog

REASONS = {
    "in_person": ("phải đến trực tiếp", "in person at the counter"),
    "postal": ("nộp qua bưu chính", "sent by post"),
    "paid_offline": ("nộp phí không trực tuyến", "fee paid offline"),
    "paper_result": ("nhận kết quả giấy tại quầy", "paper result collected at the counter"),
}


def _reason(row: pd.Series) -> str:
    paid_online = row["fee_paid_online"]
    if row["kind"] == "payment" and pd.notna(paid_online) and not paid_online:
        return "paid_offline"
    if row["kind"] == "result":
        return "paper_result"
    return "postal" if row["channel"] == "postal" else "in_person"


def _share(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def readiness_from(log: StepLog, by: str = "unit") -> dict:
    """Readiness of every procedure in ``log``, overall and per ``by`` (a cases column)."""
    cases = log.cases
    steps = log.steps
    finished = cases[cases["judged"].astype(bool)]
    blockers = steps[steps["blocks_online"] & steps["case_id"].isin(finished.index)].copy()
    if not blockers.empty:
        blockers["reason"] = blockers.apply(_reason, axis=1)
    procedures = []
    for proc in sorted(cases["procedure_code"].unique()):
        pcases = finished[finished["procedure_code"] == proc]
        pblock = blockers[blockers["procedure_code"] == proc] if not blockers.empty else blockers
        blocked_cases = len(pcases) - int(pcases["full_online"].sum())
        rank = []
        if not pblock.empty:
            grouped = pblock.groupby(["activity", "reason"])["case_id"].nunique()
            for (act, reason), n in grouped.sort_values(ascending=False).items():
                info = log.info[(proc, act)]
                only = pblock[pblock["activity"] == act]["case_id"]
                others = pblock[(pblock["activity"] != act) & pblock["case_id"].isin(only)]
                sole = int(only.nunique() - others["case_id"].nunique())
                rank.append(
                    {
                        "step": act,
                        "label": {"vi": info.label_vi, "en": info.label_en},
                        "reason": reason,
                        "reason_label": {"vi": REASONS[reason][0], "en": REASONS[reason][1]},
                        "dossiers": int(n),
                        "share_of_blocked": _share(int(n), blocked_cases),
                        "sole_blocker_dossiers": sole,
                        "requires_presence": info.requires_presence,
                        "paper": info.paper,
                    }
                )
        units = []
        for unit, ucases in pcases.groupby(by, sort=True, dropna=False):
            units.append(
                {
                    by: None if pd.isna(unit) else str(unit),
                    "judged": len(ucases),
                    "full_online": int(ucases["full_online"].sum()),
                    "full_online_share": _share(int(ucases["full_online"].sum()), len(ucases)),
                }
            )
        structural = [
            {
                "step": si.code,
                "label": {"vi": si.label_vi, "en": si.label_en},
                "requires_presence": si.requires_presence,
                "paper": si.paper,
            }
            for (p, _), si in sorted(log.info.items(), key=lambda kv: kv[1].order)
            if p == proc and si.citizen_facing and (si.requires_presence or si.paper)
        ]
        all_cases = cases[cases["procedure_code"] == proc]
        procedures.append(
            {
                "procedure": proc,
                "name": procedure_name(proc, log.settings),
                "dossiers": len(all_cases),
                "judged": len(pcases),
                "not_judged": int(len(all_cases) - len(pcases)),
                "full_online": int(pcases["full_online"].sum()),
                "full_online_share": _share(int(pcases["full_online"].sum()), len(pcases)),
                "blocked": blocked_cases,
                "blockers": rank,
                "catalog_blockers": structural,
                "note": None
                if len(pcases)
                else {
                    "vi": "Nhật ký không cho biết kênh người dân thực hiện từng bước: không thể "
                    "đánh giá toàn trình.",
                    "en": "The log does not say how steps reached the citizen (no channel): "
                    "full-online cannot be judged.",
                },
                "by": by,
                "units": units,
            }
        )
    return {
        "definition": {
            "vi": "Hồ sơ toàn trình: mọi bước người dân thực hiện đều trực tuyến và kết quả "
            "trả trực tuyến hoặc qua bưu chính (Nghị định 42/2022). Chỉ xét hồ sơ đã trả kết quả.",
            "en": "Full-online dossier: every citizen-facing step online and the result "
            "returned online or by post (Decree 42/2022). Dossiers with a returned result only.",
        },
        "procedures": procedures,
    }


def readiness(
    store: EventStore, flt: LogFilter, by: str = "unit", settings: Settings | None = None
) -> dict:
    """Full-online readiness per procedure and per unit (receiving org unit by default)."""
    if by not in ("unit", "province_code", "commune_code"):
        raise ValueError(f"by must be unit, province_code or commune_code, not {by!r}")
    result = readiness_from(load_steps(store, flt, settings), by=by)
    result["filter"] = flt.describe()
    return result
