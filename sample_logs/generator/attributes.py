"""The attributes KPIs read (docs/internals.md), as JSON text per event.

Submission: digitised, vneid_verified, data_reused, due_date. Payment: fee_paid_online,
fee_vnd. Result: e_result, complaint, satisfaction (1-5, on a share of approved dossiers),
enterprise_code for a registered business.
"""

from __future__ import annotations

import numpy as np
import orjson

from sample_logs.workdays import WorkCalendar

_SATISFACTION_P = np.array([0.03, 0.05, 0.12, 0.35, 0.45])
RATED_SHARE = 0.3
COMPLAINT_SHARE = 0.01


def due_dates(calendar: WorkCalendar, t_local: np.ndarray, n_days: np.ndarray) -> np.ndarray:
    """``WorkCalendar.add_working_days`` on a column: ISO strings of the due moments."""
    day = t_local.astype("datetime64[s]").astype("datetime64[D]")
    received_today = calendar.roll_forward(day) == day
    late = received_today & ((t_local % 86_400) >= calendar.cutoff_hour * 3600)
    n_eff = np.where(n_days > 0, n_days, late.astype(int))
    due = calendar.offset_days(day, n_eff).astype("datetime64[s]") + np.timedelta64(86_399, "s")
    return np.char.add(np.datetime_as_string(due, unit="s"), "+07:00")


def submission(
    digitised: np.ndarray, vneid: np.ndarray, data_reused: np.ndarray, due: np.ndarray
) -> np.ndarray:
    out = np.empty(len(due), dtype=object)
    rows = zip(digitised.tolist(), vneid.tolist(), data_reused.tolist(), due.tolist(), strict=True)
    for i, (dg, vn, dr, dd) in enumerate(rows):
        out[i] = orjson.dumps(
            {"digitised": dg, "vneid_verified": vn, "data_reused": dr, "due_date": dd}
        ).decode()
    return out


def payment(paid_online: np.ndarray, fee_vnd: int) -> np.ndarray:
    text = {
        True: f'{{"fee_paid_online":true,"fee_vnd":{fee_vnd}}}',
        False: f'{{"fee_paid_online":false,"fee_vnd":{fee_vnd}}}',
    }
    return np.array([text[bool(v)] for v in paid_online.tolist()], dtype=object)


def result(
    rng: np.random.Generator,
    approved: np.ndarray,
    paper: bool,
    e_result_paper: float,
    business: bool,
) -> np.ndarray:
    k = len(approved)
    e_result = np.full(k, not paper) | (rng.random(k) < e_result_paper)
    rated = (rng.random(k) < RATED_SHARE) & approved
    score = rng.choice(5, k, p=_SATISFACTION_P) + 1
    complaint = rng.random(k) < COMPLAINT_SHARE
    codes = rng.integers(10**9, 10**10, k)
    out = np.empty(k, dtype=object)
    for i in range(k):
        a: dict[str, object] = {"e_result": bool(e_result[i]), "complaint": bool(complaint[i])}
        if rated[i]:
            a["satisfaction"] = int(score[i])
        if business and approved[i]:
            a["enterprise_code"] = str(codes[i])  # the new enterprise's 10-digit tax code
        out[i] = orjson.dumps(a).decode()
    return out
