"""The reform brief as an XLSX workbook: one sheet per table, numbers as numbers."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

# A text starting with one of these is a formula (or becomes one when edited) in Excel and
# LibreOffice: ``=HYPERLINK(...)`` in a step name must stay the step's name.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CANDIDATE_COLUMNS = (
    "rank",
    "kind",
    "from_step",
    "step",
    "unit",
    "label_vi",
    "label_en",
    "required",
    "legal_basis",
    "recommendation",
    "recommendation_vi",
    "working_days_total",
    "hours_per_affected_dossier",
    "working_days_per_affected_dossier",
    "visits_per_affected_dossier",
    "dossiers",
    "dossier_share",
    "wait_hours",
    "service_hours",
    "failure_rate",
    "in_person_share",
    "replaceable_by_data",
    "reasons_vi",
    "reasons_en",
)


def append_text_safe(ws: Worksheet, row: list) -> None:
    """Append a row whose text cells are written as text, never as a formula: text from the
    data (step names, reasons, filters) is stored as a string with Excel's quote prefix, so
    neither opening nor editing the cell evaluates it. Numbers stay numbers."""
    ws.append(row)
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
            if cell.value.startswith(FORMULA_STARTS):
                cell.quotePrefix = True


def _sheet(wb: Workbook, title: str, header: list[str], rows: list[list]) -> None:
    ws = wb.create_sheet(title)
    append_text_safe(ws, header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        append_text_safe(ws, row)


def candidate_rows(candidates: list[dict]) -> list[list]:
    out = []
    for c in candidates:
        ev, s = c["evidence"], c["saving"]
        out.append(
            [
                c["rank"],
                c["kind"],
                c.get("from_step"),
                c["step"],
                c["unit_name"]["vi"] if c.get("unit_name") else None,
                c["label"]["vi"],
                c["label"]["en"],
                c.get("required"),
                c.get("legal_basis"),
                c["recommendation"],
                c["recommendation_label"]["vi"],
                s["working_days_total"],
                s.get("hours_per_affected_dossier"),
                s["working_days_per_affected_dossier"],
                s["visits_per_affected_dossier"],
                ev["dossiers"],
                ev.get("dossier_share"),
                ev.get("wait_hours", ev.get("mean_wait_hours")),
                ev.get("service_hours"),
                ev.get("failure_rate"),
                ev.get("in_person_share"),
                c.get("replaceable_by_data"),
                " ".join(r["vi"] for r in c["reasons"]),
                " ".join(r["en"] for r in c["reasons"]),
            ]
        )
    return out


def write_xlsx(brief: dict, path: Path) -> Path:
    path = Path(path)
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    r = brief["readiness"]
    for row in (
        ["procedure", brief["procedure"]],
        ["name_vi", brief["name"]["vi"]],
        ["name_en", brief["name"]["en"]],
        ["filter", brief["filter"]],
        ["dossiers", brief["dossiers"]],
        ["judged_for_full_online", r["judged"]],
        ["full_online", r["full_online"]],
        ["full_online_share", r["full_online_share"]],
        ["service_index_100", brief["kpi"]["overall"]["index_100"]],
        ["generated_at", brief["generated_at"]],
    ):
        append_text_safe(summary, row)
    _sheet(wb, "Candidates", list(CANDIDATE_COLUMNS), candidate_rows(brief["candidates"]))
    _sheet(
        wb,
        "Blockers",
        ["step", "label_vi", "reason", "dossiers", "share_of_blocked"],
        [
            [b["step"], b["label"]["vi"], b["reason"], b["dossiers"], b["share_of_blocked"]]
            for b in r["blockers"]
        ],
    )
    _sheet(
        wb,
        "What-if",
        [
            "step",
            "action",
            "affected_dossiers",
            "saving_hours_per_affected_dossier",
            "baseline_median_working_days",
            "scenario_median_working_days",
            "baseline_on_time_rate",
            "scenario_on_time_rate",
            "baseline_full_online_share",
            "scenario_full_online_share",
        ],
        [
            [
                w["step"],
                w["action"],
                w["affected_dossiers"],
                w["saving_hours_per_affected_dossier"],
                w["baseline"]["cycle_working_days"]["median"],
                w["scenario"]["cycle_working_days"]["median"],
                w["baseline"]["on_time_rate"],
                w["scenario"]["on_time_rate"],
                w["baseline"]["full_online_share"],
                w["scenario"]["full_online_share"],
            ]
            for w in brief["whatif"]
        ],
    )
    kpi = brief["kpi"]
    names = [c["component"] for c in kpi["overall"]["components"]]
    _sheet(
        wb,
        "KPI",
        ["org_unit", "dossiers", "index_100", *names],
        [
            [row.get("org-unit", "all"), row["dossiers"], row["index_100"]]
            + [c["share"] for c in row["components"]]
            for row in [{"org-unit": "all", **kpi["overall"]}, *kpi["rows"]]
        ],
    )
    _sheet(
        wb,
        "Bottlenecks",
        list(brief["bottlenecks"][0].keys()) if brief["bottlenecks"] else ["activity"],
        [list(w.values()) for w in brief["bottlenecks"]],
    )
    wb.save(path)
    return path
