"""The national service index (Decision 766/QĐ-TTg) from what dossier events carry.

Each component is a share in [0, 1] earning ``weight × min(1, share / full_at)`` points
(weights and thresholds are settings: DOMAIN.md calls them unofficial). Components the
events cannot support (publication on the portal, synchronisation) or that no dossier of a
group carries (satisfaction ratings, fee payments…) are listed with the reason instead of
being scored, and the index is rescaled to 100 over the supported weights.
"""

from __future__ import annotations

import pandas as pd

from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings
from ingest.store import EventStore
from mining.filters import LogFilter
from mining.reform.catalog_view import procedure_deadline
from mining.reform.source import ATTRIBUTES, load_steps
from mining.reform.steps import StepLog

BY = {
    "procedure": "procedure_code",
    "org-unit": "unit",
    "province": "province_code",
    "commune": "commune_code",
}

# component -> (group, vi, en)
COMPONENTS = {
    "synchronised": ("transparency", "Đồng bộ hồ sơ lên Cổng", "Dossiers synchronised"),
    "published": ("transparency", "Công khai thủ tục", "Procedures published"),
    "on_time": ("progress", "Giải quyết đúng hạn", "Finished on time"),
    "processing_time": ("progress", "Thời gian giải quyết", "Processing time vs deadline"),
    "online_submission": ("online", "Nộp hồ sơ trực tuyến", "Submitted online"),
    "full_online": ("online", "Hồ sơ toàn trình", "Full-online dossiers"),
    "online_payment": ("payment", "Thanh toán trực tuyến", "Fees paid online"),
    "e_result": ("digitisation", "Kết quả điện tử", "Electronic results"),
    "digitised": ("digitisation", "Số hóa hồ sơ", "Dossiers digitised"),
    "data_reuse": ("digitisation", "Tái sử dụng dữ liệu", "Data reused"),
    "vneid": ("digitisation", "Xác thực VNeID", "Identity verified via VNeID"),
    "satisfaction": ("satisfaction", "Mức độ hài lòng", "Satisfaction (ratings 1-5)"),
    "no_overdue_no_complaint": (
        "satisfaction",
        "100% − (% quá hạn + % phản ánh)",
        "100% − (% overdue + % complaints)",
    ),
}

NOT_IN_EVENTS = {
    "synchronised": (
        "Sự kiện không cho biết hồ sơ nào chưa đồng bộ lên Cổng.",
        "Events cannot tell which dossiers were never synchronised to the portal.",
    ),
    "published": (
        "Việc công khai thủ tục không nằm trong sự kiện hồ sơ.",
        "Whether a procedure is published is not in dossier events.",
    ),
}


class KpiError(DvcflowError):
    """A KPI grouping or weight setting is wrong."""


def _case_attrs(log: StepLog) -> pd.DataFrame:
    """One row per dossier: the attributes its events carried (later events win)."""
    columns = [c for c in ATTRIBUTES if log.steps[c].notna().any()]
    frame = log.steps.groupby("case_id")[columns].last()  # last non-null per dossier
    return frame.reindex(log.cases.index)


def _paid_online(log: StepLog) -> pd.Series:
    """Per dossier with a fee payment: paid online (online channel, not flagged offline)."""
    pay = log.steps[log.steps["kind"] == "payment"]
    flags = pay["fee_paid_online"]
    offline = flags.eq(False).fillna(False).astype(bool)
    online = (pay["channel"] == "online") & ~offline
    known = flags.notna() | pay["channel"].isin(["online", "counter"])
    return online[known].groupby(pay.loc[known, "case_id"]).all()


def _bool_share(series: pd.Series) -> tuple[float | None, int]:
    known = series.dropna()
    if known.empty:
        return None, 0
    return float(known.astype(bool).mean()), len(known)


def _components(
    cases: pd.DataFrame, attrs: pd.DataFrame, paid: pd.Series, settings: Settings
) -> dict:
    """Component shares of one group of dossiers: name -> (share or None, basis, note)."""
    fin = cases[cases["finished"].astype(bool)]
    out: dict[str, tuple[float | None, int, tuple[str, str] | None]] = {}
    judged = fin["status"].isin(["early", "on_time", "late"])
    out["on_time"] = (
        float(fin.loc[judged, "status"].isin(["early", "on_time"]).mean())
        if judged.any()
        else None,
        int(judged.sum()),
        None if judged.any() else ("Không có hạn xử lý.", "No due dates known."),
    )
    dl = fin["procedure_code"].map(
        {p: procedure_deadline(p, settings) for p in fin["procedure_code"].unique()}
    )
    ratio = (fin["cycle_wd"] / dl.clip(lower=1)).where(dl.notna()).dropna()
    out["processing_time"] = (
        min(1.0, 1.0 / float(ratio.mean())) if len(ratio) and ratio.mean() > 0 else None,
        len(ratio),
        None if len(ratio) else ("Thủ tục không có trong danh mục.", "Procedure not in catalog."),
    )
    a = attrs.reindex(cases.index)
    e_result = a["e_result"] if "e_result" in a else pd.Series(None, index=cases.index)
    paper_result = cases["procedure_code"].map(
        {p: _paper_result(p, settings) for p in cases["procedure_code"].unique()}
    )
    electronic = e_result.eq(True).fillna(False).astype(bool)
    counted = (cases["channel"] == "online") & (~paper_result.astype(bool) | electronic)
    out["online_submission"] = (float(counted.mean()), len(cases), None)
    judged_fo = cases.loc[cases["judged"].astype(bool), "full_online"].astype(bool)
    out["full_online"] = (
        float(judged_fo.mean()) if len(judged_fo) else None,
        len(judged_fo),
        None,
    )
    p = paid.reindex(cases.index)
    share, n = _bool_share(p)
    out["online_payment"] = (
        share,
        n,
        None if n else ("Không có hồ sơ nộp phí.", "No fee payments."),
    )
    for name, key in (
        ("e_result", "e_result"),
        ("digitised", "digitised"),
        ("data_reuse", "data_reused"),
        ("vneid", "vneid_verified"),
    ):
        col = a[key] if key in a else pd.Series(None, index=cases.index, dtype=object)
        base = col.reindex(fin.index) if name == "e_result" else col
        share, n = _bool_share(base)
        out[name] = (
            share,
            n,
            None if n else (f"Sự kiện không có '{key}'.", f"No '{key}' in events."),
        )
    sat = pd.to_numeric(a["satisfaction"], errors="coerce") if "satisfaction" in a else None
    rated = sat.reindex(fin.index).dropna() if sat is not None else pd.Series(dtype=float)
    out["satisfaction"] = (
        float(((rated - 1) / 4).mean()) if len(rated) else None,
        len(rated),
        None if len(rated) else ("Chưa có đánh giá.", "No ratings."),
    )
    with_due = cases["status"].notna()
    if with_due.any():
        late = cases.loc[with_due, "status"].isin(["late", "overdue"]).mean()
        complaint = a["complaint"] if "complaint" in a else pd.Series(False, index=cases.index)
        complained = (
            float(complaint.reindex(fin.index).eq(True).fillna(False).astype(bool).mean())
            if len(fin)
            else 0.0
        )
        out["no_overdue_no_complaint"] = (
            max(0.0, 1.0 - late - complained),
            int(with_due.sum()),
            None,
        )
    else:
        out["no_overdue_no_complaint"] = (None, 0, ("Không có hạn xử lý.", "No due dates known."))
    return out


def _paper_result(proc: str, settings: Settings) -> bool:
    from sample_logs.catalog import get_procedure

    entry = get_procedure(proc, settings)
    if entry is None:
        return False
    return any(s.kind == "result" and s.paper for s in entry.steps)


def _score(shares: dict, weights: dict[str, float], full_at: dict[str, float]) -> dict:
    comps = []
    earned = supported = 0.0
    for name, (group, vi, en) in COMPONENTS.items():
        weight = float(weights.get(name, 0.0))
        share, basis, note = shares.get(name, (None, 0, NOT_IN_EVENTS.get(name)))
        row = {
            "component": name,
            "group": group,
            "label": {"vi": vi, "en": en},
            "max_points": weight,
            "basis_dossiers": basis,
        }
        if share is None:
            note = note or NOT_IN_EVENTS.get(name) or ("Không đủ dữ liệu.", "Not enough data.")
            row.update(
                supported=False, share=None, points=None, note={"vi": note[0], "en": note[1]}
            )
        else:
            threshold = float(full_at.get(name, 1.0))
            points = weight * min(1.0, share / threshold) if threshold > 0 else weight
            row.update(
                supported=True, share=round(share, 4), full_at=threshold, points=round(points, 3)
            )
            earned += points
            supported += weight
        comps.append(row)
    return {
        "points": round(earned, 3),
        "supported_max": round(supported, 3),
        "index_100": round(100 * earned / supported, 2) if supported else None,
        "components": comps,
    }


def kpi_from(log: StepLog, by: str = "procedure") -> dict:
    if by not in BY:
        raise KpiError(f"--by {by!r} is not one of {', '.join(BY)}.")
    settings = log.settings
    weights, full_at = settings.service_index_weights, settings.service_index_full_at
    unknown = sorted(set(weights) - set(COMPONENTS))
    if unknown:
        raise KpiError(
            f"setting service_index_weights names unknown components {', '.join(unknown)} "
            f"(known: {', '.join(COMPONENTS)})."
        )
    attrs = _case_attrs(log)
    paid = _paid_online(log)
    column = BY[by]
    rows = []
    for key, group in log.cases.groupby(column, sort=True, dropna=False):
        shares = _components(group, attrs, paid, settings)
        rows.append(
            {
                by: None if pd.isna(key) else str(key),
                "dossiers": len(group),
                "finished": int(group["finished"].astype(bool).sum()),
                **_score(shares, weights, full_at),
            }
        )
    overall = _score(_components(log.cases, attrs, paid, settings), weights, full_at)
    return {
        "by": by,
        "rows": rows,
        "overall": {"dossiers": len(log.cases), **overall},
        "weights": dict(weights),
        "full_at": dict(full_at),
        "note": {
            "vi": "Trọng số theo mô tả không chính thức của Quyết định 766/QĐ-TTg; điểm được quy "
            "về thang 100 trên các thành phần dữ liệu hỗ trợ.",
            "en": "Weights follow an unofficial description of Decision 766/QĐ-TTg; the index "
            "is rescaled to 100 over the components the data supports.",
        },
    }


def kpi(
    store: EventStore, flt: LogFilter, by: str = "procedure", settings: Settings | None = None
) -> dict:
    """Service-index KPIs per procedure, org unit, province or commune."""
    result = kpi_from(load_steps(store, flt, settings), by)
    result["filter"] = flt.describe()
    return result
