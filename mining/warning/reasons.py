"""Why a dossier is at risk, in words an official reads (vi / en).

The reasons are the model's own: for each group of facts (how long it has waited where it
is, where it is, its province, supplements, deadline used, workload, holidays ahead, its
path so far, channel) the probability is computed again with those facts at their usual
value; the groups that lower it most are the reasons, weighted by that drop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from babel.numbers import format_decimal

from dvcflow.settings import get_settings
from mining.deadlines import DeadlineRules
from mining.warning.model import Model
from mining.warning.results import Reason
from sample_logs import names

GROUPS: dict[str, tuple[str, ...]] = {
    "wait": ("since_last",),
    "place": ("last_step", "last_unit", "in_progress"),
    "province": ("province",),
    "supplement": ("supplement_requests", "waiting_citizen", "supplement_wait"),
    "time_used": ("used_share", "elapsed", "left", "calendar_left"),
    "workload": ("unit_wip", "open_total"),
    "holidays": ("holidays_ahead",),
    "path": ("rework", "handoffs", "steps_done", "prev_step", "prev_step2"),
    "channel": ("channel",),
}
MIN_WEIGHT = 0.02  # a fact that moves the probability by less is not a reason
TOP = 3
_LOCALES = {"vi": "vi_VN", "en": "en_US"}


def _n(value: float | None, lang: str, digits: int = 1) -> str:
    """A number with the locale's separators (as ``dashboard.fmt.number``)."""
    if value is None or value != value:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_LOCALES[lang])


def _pct(share: float | None, lang: str) -> str:
    return "–" if share is None or share != share else _n(100 * share, lang, 0) + "%"


def _step_name(step: str | None, proc, lang: str) -> str:
    s = proc.step(step) if (proc is not None and step) else None
    return getattr(s.label, lang) if s else str(step)


def words(kind: str, row: pd.Series, usual: tuple[float, float] | None, proc) -> dict[str, str]:
    """The sentence of one reason for one dossier, in both languages."""
    out = {}
    for lang in ("vi", "en"):
        step = _step_name(row["last_step"], proc, lang)
        unit = names.unit_name(row["last_unit"], lang, get_settings().units_file)
        n = lambda v, d=1, lang=lang: _n(v, lang, d)  # noqa: E731
        if kind == "wait":
            u = (
                f" (thường {n(usual[0])})"
                if usual and lang == "vi"
                else (f" (usually {n(usual[0])})" if usual else "")
            )
            text = (
                f"Đã chờ {n(row['since_last'])} ngày LV sau bước «{step}» tại {unit}{u}",
                f"Waiting {n(row['since_last'])} working days after “{step}” at {unit}{u}",
            )
        elif kind == "place":
            text = (
                f"Đang ở bước «{step}» tại {unit}, nơi hồ sơ hay bị trễ",
                f"At “{step}” in {unit}, where dossiers often run late",
            )
        elif kind == "province":
            text = (
                f"Hồ sơ của {names.province_name(row['province'])} thường chậm hơn",
                f"Dossiers of {names.province_name(row['province'])} tend to be slower",
            )
        elif kind == "supplement":
            waiting = bool(row["waiting_citizen"])
            text = (
                f"{n(row['supplement_requests'], 0)} lần yêu cầu bổ sung"
                + (", đang chờ công dân bổ sung" if waiting else ""),
                f"{n(row['supplement_requests'], 0)} supplement request(s)"
                + (", waiting for the citizen" if waiting else ""),
            )
        elif kind == "time_used":
            text = (
                f"Đã dùng {_pct(row['used_share'], lang)} thời hạn, còn {n(row['left'])} ngày LV",
                f"{_pct(row['used_share'], lang)} of the deadline used, "
                f"{n(row['left'])} working days left",
            )
        elif kind == "workload":
            text = (
                f"{unit} đang có {n(row['unit_wip'], 0)} hồ sơ chưa xong",
                f"{unit} holds {n(row['unit_wip'], 0)} open dossiers",
            )
        elif kind == "holidays":
            text = (
                f"{n(row['holidays_ahead'], 0)} ngày nghỉ lễ trước hạn trả kết quả",
                f"{n(row['holidays_ahead'], 0)} public holiday(s) before the due day",
            )
        elif kind == "path":
            text = (
                f"Đã làm lại {n(row['rework'], 0)} bước, chuyển {n(row['handoffs'], 0)} lần",
                f"{n(row['rework'], 0)} step(s) redone, {n(row['handoffs'], 0)} handoff(s)",
            )
        else:
            text = (f"Kênh nộp: {row['channel']}", f"Submitted via {row['channel']}")
        out[lang] = text[0] if lang == "vi" else text[1]
    return out


def explain(model: Model, x: pd.DataFrame, prob: np.ndarray | None, proc) -> list[list[Reason]]:
    """The main reasons of each row of ``x`` (the model's features of open dossiers)."""
    if prob is None or x.empty:
        return [[] for _ in range(len(x))]
    drops = {}
    for kind, cols in GROUPS.items():
        usual = x.copy()
        for c in cols:
            usual[c] = model.typical.get(c)
        drops[kind] = prob - model.probability(usual)
    kinds = list(GROUPS)
    matrix = np.column_stack([drops[k] for k in kinds])
    out = []
    for i in range(len(x)):
        row = x.iloc[i]
        usual_wait = model.usual_wait.get((row["last_step"], row["last_unit"])) or (
            model.usual_wait.get((row["last_step"], None))
        )
        best = [j for j in np.argsort(-matrix[i])[:TOP] if matrix[i, j] >= MIN_WEIGHT]
        out.append(
            [
                Reason(**words(kinds[j], row, usual_wait, proc), weight=float(matrix[i, j]))
                for j in best
            ]
        )
    return out


def rule_reasons(x: pd.DataFrame, rules: DeadlineRules) -> list[list[Reason]]:
    """Without a model: the rule's own facts (deadline used, supplement requests)."""
    out = []
    for i in range(len(x)):
        row = x.iloc[i]
        reasons = []
        if row["used_share"] == row["used_share"] and row["used_share"] is not None:
            reasons.append(Reason(**words("time_used", row, None, None)))
        if (row["supplement_requests"] or 0) > 0:
            reasons.append(Reason(**words("supplement", row, None, None)))
        out.append(reasons)
    return out
