"""Reform verbs: ``reform``, ``whatif``, ``impact``, ``kpi`` and ``report``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Column, Table

from dvcflow.commands.common import (
    ChannelOpt,
    CommuneOpt,
    FromOpt,
    JsonOpt,
    OrgUnitOpt,
    ProcedureOpt,
    ProvinceOpt,
    ToOpt,
    cli_settings,
    console,
    make_filter,
    print_json,
    user_errors,
)
from ingest.store import EventStore

if TYPE_CHECKING:
    from mining.reform.whatif import Change


class KpiBy(StrEnum):
    procedure = "procedure"
    org_unit = "org-unit"
    province = "province"
    commune = "commune"


class UnitBy(StrEnum):
    unit = "unit"
    province = "province"
    commune = "commune"


_UNIT_COLUMN = {"unit": "unit", "province": "province_code", "commune": "commune_code"}
UnitByOpt = Annotated[
    UnitBy | None,
    typer.Option(
        "--by",
        help="compare receiving units, provinces or communes (default: provinces; the "
        "communes of a --province)",
    ),
]


class ReportFormat(StrEnum):
    html = "html"
    xlsx = "xlsx"


def _store() -> EventStore:
    return EventStore(cli_settings().data_dir)


def _fmt(value: object, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def reform(
    procedure: ProcedureOpt = None,
    by: UnitByOpt = None,
    province: ProvinceOpt = None,
    commune: CommuneOpt = None,
    org_unit: OrgUnitOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    channel: ChannelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Full-online readiness, and the steps, waits and handoffs to cut, ranked by the total
    working days they would save, with their evidence."""
    from mining.reform import candidates, readiness

    flt = make_filter(procedure, province, commune, org_unit, date_from, date_to, channel)
    with user_errors():
        from mining.reform.source import require_procedure

        require_procedure(flt, "reform")
        store, settings = _store(), cli_settings()
        result = {
            "readiness": readiness(
                store, flt, by=_UNIT_COLUMN[(by or UnitBy.unit).value], settings=settings
            ),
            "candidates": candidates(
                store, flt, by=_UNIT_COLUMN[by.value] if by else None, settings=settings
            ),
        }
    if as_json:
        print_json(result)
        return
    proc = result["readiness"]["procedures"][0]
    console.print(
        f"[bold]{proc['procedure']} {proc['name']['en']}[/] — full-online "
        f"{_fmt(proc['full_online_share'])} of {proc['judged']} dossiers with a returned result"
    )
    if proc["note"]:
        console.print(f"  • {proc['note']['en']}")
    blockers = Table("blocking step", "reason", "dossiers", "share of blocked")
    for b in proc["blockers"]:
        blockers.add_row(
            b["step"], b["reason_label"]["en"], str(b["dossiers"]), _fmt(b["share_of_blocked"])
        )
    console.print(blockers)
    cands = result["candidates"]
    console.print(
        "Savings: working days per affected dossier, and in total (days × dossiers, the rank)."
    )
    table = Table("#", "what", "unit", "recommendation", "dossiers", "days/dossier", "days total")
    for c in cands["candidates"]:
        s = c["saving"]
        what = f"{c['from_step']} → {c['step']}" if c["from_step"] else c["step"]
        table.add_row(
            str(c["rank"]),
            what + (" (required)" if c.get("required") else ""),
            c["unit_name"]["en"] if c["unit_name"] else "all",
            c["recommendation_label"]["en"],
            str(s["affected_dossiers"]),
            _fmt(s["working_days_per_affected_dossier"], 1),
            _fmt(s["working_days_total"], 1),
        )
    console.print(table)
    top = cands["candidates"][0]
    for reason in top["reasons"]:
        console.print(f"  • {reason['en']}")


def _cut_wait(spec: str, unit: str | None) -> Change:
    """``[FROM:]STEP=TARGET`` (working days, or ``median``: the other units' median)."""
    from mining.reform.whatif import PEER_MEDIAN, Change, ScenarioError

    where, eq, target = spec.partition("=")
    prev, colon, step = where.rpartition(":")
    if not eq or not step:
        raise ScenarioError(
            f"--cut-wait {spec!r}: write [FROM_STEP:]STEP=TARGET, TARGET in working days or "
            "'median' (the other units' median)."
        )
    if target == "median":
        value: float | str = PEER_MEDIAN
    else:
        try:
            value = float(target.replace(",", "."))
        except ValueError:
            raise ScenarioError(
                f"--cut-wait {spec!r}: target {target!r} is neither a number of working days "
                "nor 'median'."
            ) from None
    return Change("cut_wait", step, unit=unit, from_step=prev if colon else None, target=value)


def whatif(
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="step to remove (repeatable)")
    ] = None,
    automate: Annotated[
        list[str] | None, typer.Option("--automate", help="step to automate (repeatable)")
    ] = None,
    reuse_data: Annotated[
        list[str] | None,
        typer.Option("--reuse-data", help="paper check to replace by data reuse (repeatable)"),
    ] = None,
    cut_wait: Annotated[
        list[str] | None,
        typer.Option(
            "--cut-wait",
            help="[FROM_STEP:]STEP=TARGET: cut the wait before STEP (after FROM_STEP) to TARGET "
            "working days or 'median' of the other units (repeatable)",
        ),
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option(
            "--unit",
            help="apply the changes only to this unit's dossiers (a --by value; default: the "
            "--province or --commune filtered on)",
        ),
    ] = None,
    procedure: ProcedureOpt = None,
    by: UnitByOpt = None,
    province: ProvinceOpt = None,
    commune: CommuneOpt = None,
    org_unit: OrgUnitOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    channel: ChannelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replay the log with changes: cycle time, on-time, full-online share and visits."""
    from mining.reform import whatif as run
    from mining.reform.whatif import Change

    flt = make_filter(procedure, province, commune, org_unit, date_from, date_to, channel)
    where = unit or commune or province
    with user_errors():
        changes = [Change("remove", s, unit=where) for s in remove or []]
        changes += [Change("automate", s, unit=where) for s in automate or []]
        changes += [Change("data_reuse", s, unit=where) for s in reuse_data or []]
        changes += [_cut_wait(spec, where) for spec in cut_wait or []]
        result = run(
            _store(),
            flt,
            by=_UNIT_COLUMN[by.value] if by else None,
            changes=changes,
            settings=cli_settings(),
        )
    if as_json:
        print_json(result)
        return
    console.print(
        f"[bold]{result['procedure']}[/]: {result['affected_dossiers']} dossiers affected, "
        f"{_fmt(result['saving_working_days_per_affected_dossier'], 1)} working days saved "
        f"each, {_fmt(result['saving_working_days_total'], 1)} in total"
    )
    for c in result["changes"]:
        target = c.get("target_working_days")
        console.print(
            f"  {c['action']} {c.get('from_step', '') and c['from_step'] + ' → '}{c['step']}"
            + (f" in {c['unit']}" if c.get("unit") else "")
            + (f" to {_fmt(target, 2)} working days" if target is not None else "")
            + f": {c['dossiers']} dossiers"
        )
    console.print("Mean working days, on-time rate, full-online share, visits per dossier:")
    by_name = result["by"].removesuffix("_code")
    table = Table("n", "days", "→", "on-time", "→", "online", "→", "visits", "→")
    table.columns.insert(0, Column(by_name, no_wrap=True, min_width=len(by_name)))
    rows = [("all", result)] + [(u[result["by"]], u) for u in result["units"]]
    for name, r in rows:
        b, s = r["baseline"], r["scenario"]
        table.add_row(
            name,
            str(b["dossiers"]),
            _fmt(b["cycle_working_days"]["mean"]),
            _fmt(s["cycle_working_days"]["mean"]),
            _fmt(b["on_time_rate"]),
            _fmt(s["on_time_rate"]),
            _fmt(b["full_online_share"]),
            _fmt(s["full_online_share"]),
            _fmt(b["visits_per_dossier"]),
            _fmt(s["visits_per_dossier"]),
        )
    console.print(table)
    for a in result["assumptions"]:
        console.print(f"  • {a['en']}")


def impact(
    when: Annotated[datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="the reform date")],
    window: Annotated[
        int | None, typer.Option("--window", help="days compared on each side (setting)")
    ] = None,
    procedure: ProcedureOpt = None,
    province: ProvinceOpt = None,
    commune: CommuneOpt = None,
    org_unit: OrgUnitOpt = None,
    channel: ChannelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Did a reform help? Before versus after a date, with confidence intervals."""
    from mining.reform import impact as run

    flt = make_filter(procedure, province, commune, org_unit, None, None, channel)
    with user_errors():
        result = run(_store(), flt, when.date(), window, settings=cli_settings())
    if as_json:
        print_json(result)
        return
    console.print(
        f"[bold]{result['procedure']}[/] around {result['date']} (±{result['window_days']} days):"
        f" {result['dossiers_before']} before, {result['dossiers_after']} after — "
        f"[bold]{result['verdict']}[/]"
    )
    table = Table("measure", "before", "after", "difference", "95% CI", "p (Holm)", "verdict")
    for m in result["measures"].values():
        if not m["supported"]:
            table.add_row(m["label"]["en"], "–", "–", "–", "–", "–", "not enough data")
            continue
        table.add_row(
            m["label"]["en"],
            _fmt(m["before"], 3),
            _fmt(m["after"], 3),
            _fmt(m["difference"], 3),
            f"[{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]",
            _fmt(m["p_holm"], 4),
            m["verdict"],
        )
    console.print(table)


def kpi(
    by: Annotated[KpiBy, typer.Option("--by", help="grouping")] = KpiBy.procedure,
    procedure: ProcedureOpt = None,
    province: ProvinceOpt = None,
    commune: CommuneOpt = None,
    org_unit: OrgUnitOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    channel: ChannelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The national service index per procedure, org unit, province or commune."""
    from mining.reform import kpi as run

    flt = make_filter(procedure, province, commune, org_unit, date_from, date_to, channel)
    with user_errors():
        result = run(_store(), flt, by.value, settings=cli_settings())
    if as_json:
        print_json(result)
        return
    rows = [{by.value: "all", **result["overall"]}, *result["rows"]]
    shown = rows[:8]  # components down, groups across: readable in a terminal
    table = Table("component", *[str(r[by.value]) for r in shown])
    table.add_row("dossiers", *[str(r["dossiers"]) for r in shown])
    table.add_row("[bold]index /100[/]", *[_fmt(r["index_100"], 1) for r in shown])
    for k, comp in enumerate(result["overall"]["components"]):
        if comp["supported"]:
            table.add_row(comp["label"]["en"], *[_fmt(r["components"][k]["share"]) for r in shown])
    console.print(table)
    if len(rows) > len(shown):
        console.print(f"  ({len(rows) - len(shown)} more {by.value} groups: use --json)")
    unsupported = [c for c in result["overall"]["components"] if not c["supported"]]
    for c in unsupported:
        console.print(f"  • {c['label']['en']}: not scored — {c['note']['en']}")


def report(
    procedure: ProcedureOpt = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="html or xlsx")] = (
        ReportFormat.html
    ),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: reform-CODE.*)")
    ] = None,
    province: ProvinceOpt = None,
    commune: CommuneOpt = None,
    org_unit: OrgUnitOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    channel: ChannelOpt = None,
) -> None:
    """A reform brief an official can forward: map, bottlenecks, candidates, what-if, KPIs."""
    from mining.report import build_brief, write_html, write_xlsx

    flt = make_filter(procedure, province, commune, org_unit, date_from, date_to, channel)
    with user_errors():
        brief = build_brief(_store(), flt, cli_settings())
        path = output or Path(f"reform-{brief['procedure']}.{fmt.value}")
        (write_html if fmt is ReportFormat.html else write_xlsx)(brief, path)
    console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add this area's verbs to ``app``."""
    app.command("reform")(reform)
    app.command("whatif")(whatif)
    app.command("impact")(impact)
    app.command("kpi")(kpi)
    app.command("report")(report)
