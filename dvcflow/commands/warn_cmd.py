"""``dvcflow warn``: the open dossiers most likely to finish late, and why."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dvcflow.commands.common import (
    CommuneOpt,
    JsonOpt,
    ProvinceOpt,
    cli_settings,
    console,
    make_filter,
    print_json,
    user_errors,
)


class WarnFormat(StrEnum):
    table = "table"
    xlsx = "xlsx"


class Lang(StrEnum):
    vi = "vi"
    en = "en"


STATUS = {
    "vi": {"within": "trong hạn", "at_risk": "sắp quá hạn", "overdue": "quá hạn"},
    "en": {"within": "within", "at_risk": "at risk", "overdue": "overdue"},
}


def _words(lang: str) -> dict[str, str]:
    vi = lang == "vi"
    return {
        "title": "Cảnh báo sớm hồ sơ có nguy cơ trễ hạn"
        if vi
        else "Early warning: dossiers at risk",
        "due": "hạn trả" if vi else "due",
        "finish": "dự kiến xong" if vi else "expected finish",
        "waited": "đã chờ" if vi else "waited",
        "usual": "thường" if vi else "usually",
        "why": "lý do" if vi else "why",
        "quality": "Chất lượng (kiểm tra theo thời gian)" if vi else "Quality (chronological test)",
        "qcols": (
            [
                "% thời hạn",
                "Hồ sơ",
                "Trễ",
                "AUC mô hình",
                "AUC quy tắc",
                "Brier mô hình",
                "Brier quy tắc",
                "Độ chính xác (cùng độ nhạy)",
            ]
            if vi
            else [
                "% of deadline",
                "Dossiers",
                "Late",
                "AUC model",
                "AUC rule",
                "Brier model",
                "Brier rule",
                "Precision at rule's recall",
            ]
        ),
    }


def model_age(result, lang: str) -> str:
    """Which model answers: when it was trained, on which store version, and whether a
    newer one is training meanwhile."""
    from dashboard import fmt

    at = fmt.moment(result.model_trained_at, lang)
    version = (result.model_version or "")[:8]
    if lang == "vi":
        text = f"Mô hình huấn luyện lúc {at} (phiên bản kho {version})"
        if result.model_version != result.store_version:
            text += ", kho đã có dữ liệu mới"
        return text + (": đang huấn luyện lại." if result.retraining else ".")
    text = f"Model trained at {at} (store version {version})"
    if result.model_version != result.store_version:
        text += ", the store has new data since"
    return text + (": retraining now." if result.retraining else ".")


def print_warnings(result, lang: str) -> None:
    from dashboard import fmt

    w = _words(lang)
    name = f" – {getattr(result.procedure_name, lang)}" if result.procedure_name else ""
    console.print(f"[bold]{w['title']}: {result.procedure}{name}[/]")
    if result.message:
        console.print(f"[yellow]{getattr(result.message, lang)}[/]")
    as_of = fmt.moment(result.as_of, lang)
    if lang == "vi":
        console.print(
            f"Tại {as_of}: {fmt.number(result.open_dossiers, lang)} hồ sơ đang xử lý, "
            f"{fmt.number(result.flagged, lang)} được cảnh báo (ngưỡng "
            f"{fmt.percent(result.threshold, lang, 0)}); học từ "
            f"{fmt.number(result.trained_on, lang)} hồ sơ đã xong trong "
            f"{fmt.number(result.training_seconds, lang)} giây."
        )
    else:
        console.print(
            f"At {as_of}: {fmt.number(result.open_dossiers, lang)} open dossiers, "
            f"{fmt.number(result.flagged, lang)} flagged (threshold "
            f"{fmt.percent(result.threshold, lang, 0)}); learnt from "
            f"{fmt.number(result.trained_on, lang)} finished dossiers in "
            f"{fmt.number(result.training_seconds, lang)} s."
        )
    if result.model_trained_at is not None and result.method != "rule":
        console.print(model_age(result, lang), highlight=False)
    status = STATUS[lang]
    for i in result.items:
        label = getattr(i.step_label, lang) if i.step_label else "–"
        finish = (
            f"{fmt.day(i.expected_finish, lang)} ({fmt.day(i.expected_finish_low, lang)} – "
            f"{fmt.day(i.expected_finish_high, lang)})"
            if i.expected_finish
            else "–"
        )
        console.print(
            f"[bold]{i.rank:>3}. {i.case_id}[/]  {fmt.percent(i.probability_late, lang, 0)}"
            f" · {status.get(i.rule_status or '', '–')} · {w['due']} {fmt.day(i.due, lang)}"
            f" · {w['finish']} {finish}",
            highlight=False,
        )
        unit = getattr(i.unit_name, lang) if i.unit_name else (i.unit or "–")
        console.print(
            f"     {label} @ {unit}: {w['waited']} {fmt.days(i.waited_days, lang)}"
            f" ({w['usual']} {fmt.days(i.usual_wait_days, lang)})",
            highlight=False,
        )
        if i.reasons:
            why = "; ".join(getattr(r, lang) for r in i.reasons)
            console.print(f"     [dim]{w['why']}: {why}[/]", highlight=False)
    q = result.quality
    if q is None:
        return
    qt = Table(title=w["quality"], show_edge=False, title_justify="left")
    for col in w["qcols"]:
        qt.add_column(col, justify="right")
    for p in q.points:
        qt.add_row(*fmt.quality_cells(p, lang))
    console.print(qt)
    if q.lead_time:
        lt = q.lead_time
        text = (
            f"Cảnh báo trước hạn (TB trên hồ sơ trễ): mô hình {fmt.days(lt.model_days, lang)}, "
            f"quy tắc {fmt.days(lt.rule_days, lang)}; dự kiến xong sai lệch TB "
            f"{fmt.days(q.remaining_mae_days, lang)}."
            if lang == "vi"
            else f"Warning before the due moment (mean over late dossiers): model "
            f"{fmt.days(lt.model_days, lang)}, rule {fmt.days(lt.rule_days, lang)}; expected "
            f"finish off by {fmt.days(q.remaining_mae_days, lang)} on average."
        )
        console.print(text)


def register(app: typer.Typer) -> None:
    @app.command("warn")
    def warn(
        procedure: Annotated[
            str, typer.Option("--procedure", help="procedure code, e.g. 1.004193")
        ],
        province: ProvinceOpt = None,
        commune: CommuneOpt = None,
        as_of: Annotated[
            datetime | None,
            typer.Option(
                "--as-of",
                formats=["%Y-%m-%d"],
                help="replay the store as it was at the end of this day (events up to then)",
            ),
        ] = None,
        top: Annotated[int, typer.Option("--top", min=1, help="dossiers listed")] = 20,
        lang: Annotated[Lang, typer.Option("--lang", help="language of the list")] = Lang.vi,
        as_json: JsonOpt = False,
        out_format: Annotated[
            WarnFormat, typer.Option("--format", help="table (default) or xlsx (with -o)")
        ] = WarnFormat.table,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="the xlsx file to write")
        ] = None,
        quality: Annotated[
            bool, typer.Option("--quality/--no-quality", help="measure the quality card")
        ] = True,
    ) -> None:
        """Open dossiers ranked by the probability that they finish late, with the expected
        finish, the step each waits in and why (a model learnt from finished dossiers)."""
        from ingest.store import EventStore
        from mining.warning import warnings
        from mining.warning.xlsx import write_xlsx

        flt = make_filter(procedure, province, commune)
        with user_errors():
            if out_format is WarnFormat.xlsx and output is None:
                raise_missing_output()
            settings = cli_settings()
            result = warnings(
                EventStore(settings.data_dir),
                flt,
                as_of=as_of.date() if as_of else None,
                top=top,
                quality=quality,
                settings=settings,
            )
        if as_json:
            print_json(result.model_dump(mode="json"))
        elif out_format is WarnFormat.xlsx and output is not None:
            write_xlsx(result, output, lang.value)
            console.print(f"wrote {output}")
        else:
            print_warnings(result, lang.value)


def raise_missing_output() -> None:
    from dvcflow.errors import DvcflowError

    raise DvcflowError("--format xlsx needs --output FILE.xlsx.")
