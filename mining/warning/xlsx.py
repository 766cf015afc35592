"""The morning list as a workbook: the list, the counts by unit and the quality card.

Numbers stay numbers (an official sorts and sums them); every text from the data is
written as text, never as a formula (a case id or unit starting with "=" stays inert).
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font

from mining.warning.results import Warnings

HEADERS = {
    "list": {
        "vi": [
            "Hạng",
            "Mã hồ sơ",
            "Xác suất trễ",
            "Theo quy tắc",
            "Tỉnh/thành",
            "Xã/phường",
            "Đơn vị",
            "Bước",
            "Đã chờ (ngày LV)",
            "Thường chờ (ngày LV)",
            "Ngày tiếp nhận",
            "Hạn trả",
            "Dự kiến xong",
            "Sớm nhất",
            "Muộn nhất",
            "Còn lại (ngày LV)",
            "Lý do",
        ],
        "en": [
            "Rank",
            "Dossier",
            "Probability late",
            "Rule",
            "Province",
            "Commune",
            "Unit",
            "Step",
            "Waited (working days)",
            "Usual wait (working days)",
            "Received",
            "Due",
            "Expected finish",
            "Earliest",
            "Latest",
            "Expected days to go",
            "Reasons",
        ],
    },
    "units": {
        "vi": ["Đơn vị", "Hồ sơ đang xử lý", "Cảnh báo", "Xác suất trễ TB"],
        "en": ["Unit", "Open dossiers", "Flagged", "Mean probability late"],
    },
    "quality": {
        "vi": [
            "Thời điểm (% thời hạn)",
            "Hồ sơ",
            "Trễ",
            "AUC mô hình",
            "AUC quy tắc",
            "Brier mô hình",
            "Brier quy tắc",
            "Độ nhạy quy tắc",
            "Độ chính xác quy tắc",
            "Độ chính xác mô hình (cùng độ nhạy)",
        ],
        "en": [
            "Point (% of deadline)",
            "Dossiers",
            "Late",
            "AUC model",
            "AUC rule",
            "Brier model",
            "Brier rule",
            "Recall rule",
            "Precision rule",
            "Precision model at rule recall",
        ],
    },
}
SHEETS = {
    "list": ("Cảnh báo", "Warnings"),
    "units": ("Đơn vị", "Units"),
    "quality": ("Chất lượng", "Quality"),
}


def _append(ws, row: list) -> None:
    ws.append(row)
    for cell in ws[ws.max_row]:
        if isinstance(cell, Cell) and isinstance(cell.value, str):
            cell.data_type = "s"  # text, even when it starts with "="


def _naive(d):
    return d.replace(tzinfo=None) if d is not None else None


def write_xlsx(result: Warnings, path: Path, lang: str = "vi") -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    sheets = {}
    for key, names in SHEETS.items():
        ws = wb.create_sheet(names[0] if lang == "vi" else names[1])
        _append(ws, HEADERS[key][lang])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        sheets[key] = ws
    for i in result.items:
        label = getattr(i.step_label, lang) if i.step_label else i.step
        _append(
            sheets["list"],
            [
                i.rank,
                i.case_id,
                i.probability_late,
                i.rule_status,
                i.province_name or i.province,
                i.commune_name or i.commune,
                getattr(i.unit_name, lang) if i.unit_name else i.unit,
                label,
                i.waited_days,
                i.usual_wait_days,
                _naive(i.received),
                _naive(i.due),
                _naive(i.expected_finish),
                _naive(i.expected_finish_low),
                _naive(i.expected_finish_high),
                i.expected_days,
                "; ".join(getattr(r, lang) for r in i.reasons),
            ],
        )
    for u in result.by_unit:
        name = getattr(u.unit_name, lang) if u.unit_name else u.unit
        _append(sheets["units"], [name, u.open, u.flagged, u.mean_probability])
    for p in result.quality.points if result.quality else []:
        _append(
            sheets["quality"],
            [
                round(100 * p.share),
                p.dossiers,
                p.late,
                p.auc_model,
                p.auc_rule,
                p.brier_model,
                p.brier_rule,
                p.recall_rule,
                p.precision_rule,
                p.precision_model_at_rule_recall,
            ],
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
