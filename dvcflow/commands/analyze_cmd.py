"""``dvcflow analyze``: how a procedure really runs, where dossiers wait, what is late."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

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
    err_console,
    fail,
    make_filter,
    print_json,
    user_errors,
)


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*[str(c) for c in row])
    return table


def print_report(r: dict[str, Any], top: int = 10) -> None:
    """The analysis as readable tables."""
    p, c = r["procedure"], r["cases"]
    name = f" – {p['name']['en']}" if p.get("name") else ""
    console.print(f"[bold]Procedure {p['code'] or ', '.join(p.get('codes', []))}{name}[/]")
    console.print(
        f"{c['count']} dossiers ({c['finished']} finished, {c['open']} open), "
        f"{r['events']} events; median cycle time {_dur(c['median_duration_s'])}, "
        f"p90 {_dur(c['p90_duration_s'])}. Filter: {r['filter']}."
    )
    edges = r["dfg"]["edges"][:top]
    console.print(
        _table(
            "Directly-follows (most frequent)",
            ["from → to", "count", "median wait", "mean", "p90"],
            [
                [f"{e['source']} → {e['target']}", e["count"], _dur(e["median_s"])]
                + [_dur(e["mean_s"]), _dur(e["p90_s"])]
                for e in edges
            ],
        )
    )
    b = r["bottlenecks"]
    console.print(
        _table(
            "Bottlenecks: wait before each step (by total delay)",
            ["step", "count", "median", "p90", "total"],
            [
                [w["activity"], w["count"], _dur(w["median_s"]), _dur(w["p90_s"])]
                + [_dur(w["total_s"])]
                for w in b["waits"][:top]
            ],
        )
    )
    if b["handoffs"]:
        console.print(
            _table(
                "Handoffs between org units (by total delay)",
                ["province: from → to", "count", "median", "total"],
                [
                    [f"{h['province_code'] or '–'}: {h['from_unit']} → {h['to_unit']}"]
                    + [h["count"], _dur(h["median_s"]), _dur(h["total_s"])]
                    for h in b["handoffs"][:top]
                ],
            )
        )
    if r["sla"]:
        s = r["sla"]
        cnt = s["counts"]
        console.print(
            f"[bold]Deadlines[/]: on time {_pct(s['on_time_rate'])} of finished "
            f"(early {cnt['early']}, on time {cnt['on_time']}, late {cnt['late']}); open: "
            f"within {cnt['within']}, at risk {cnt['at_risk']}, overdue {cnt['overdue']}; "
            f"late rate {_pct(s['late_rate'])}."
        )
    else:
        console.print("[bold]Deadlines[/]: no catalog deadline or due date for these dossiers.")
    rw = r["rework"]
    console.print(
        f"[bold]Rework[/]: {_pct(rw['share'])} of dossiers; supplement loops in "
        f"{_pct(rw['supplements']['share'])} (median wait for the citizen "
        f"{_dur(rw['supplements']['median_wait_s'])})."
    )
    v = r["variants"]
    console.print(
        _table(
            f"Variants ({v['distinct']} distinct)",
            ["path", "share", "median duration", "on time"],
            [
                [" → ".join(x["activities"]), _pct(x["share"]), _dur(x["median_duration_s"])]
                + [_pct(x["on_time_rate"])]
                for x in v["top"][:top]
            ],
        )
    )
    models = r.get("models")
    if models:
        m = models["inductive"]
        q = m.get("quality") or {}
        console.print(
            f"[bold]Process model[/]: {m['algorithm']} on {m['filter']}, "
            f"{m['visible_transitions']} steps, {m['places']} places"
            + (
                f"; fitness {_num(q.get('fitness'))}, precision {_num(q.get('precision'))} "
                f"(token replay of {_pct(q.get('replayed_share'))} of dossiers)"
                if q
                else ""
            )
            + "."
        )
        for note in m["notes"] + q.get("notes", []):
            console.print(f"  {note}")
    conf = r["conformance"]
    if conf:
        console.print(
            f"[bold]Conformance[/] to the catalog model: fitness {conf['fitness']:.3f}, "
            f"{_pct(conf['fitting_share'])} of dossiers fit."
        )
        console.print(
            _table(
                "Deviations per step",
                ["step", "skipped", "out of order"],
                [
                    [d["step"], _pct(d["skipped_share"]), _pct(d["out_of_order_share"])]
                    for d in conf["steps"]
                ],
            )
        )


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def analyze(
    procedure: ProcedureOpt = None,
    province: ProvinceOpt = None,
    commune: CommuneOpt = None,
    org_unit: OrgUnitOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    channel: ChannelOpt = None,
    as_json: JsonOpt = False,
    export_bpmn: Annotated[
        Path | None, typer.Option("--export-bpmn", help="write the discovered model as BPMN")
    ] = None,
    export_pnml: Annotated[
        Path | None, typer.Option("--export-pnml", help="write the discovered Petri net (PNML)")
    ] = None,
    miner: Annotated[
        str, typer.Option("--miner", help="model for export: inductive or heuristics")
    ] = "inductive",
    noise: Annotated[
        float | None,
        typer.Option("--noise", min=0.0, max=1.0, help="inductive miner noise threshold"),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="rows per table / variants")] = 10,
    no_conformance: Annotated[
        bool, typer.Option("--no-conformance", help="skip conformance checking")
    ] = False,
) -> None:
    """How the procedure really runs: process map, bottlenecks, deadlines, rework, variants
    and conformance to the catalog."""
    from ingest.store import EventStore
    from mining.analysis import AnalysisOptions, export_model
    from mining.analysis import analyze as run_analysis

    if miner not in ("inductive", "heuristics"):
        fail(f"--miner {miner!r} is not one of inductive, heuristics.")
    flt = make_filter(procedure, province, commune, org_unit, date_from, date_to, channel)
    settings = cli_settings()
    store = EventStore(settings.data_dir)
    options = AnalysisOptions(
        noise_threshold=noise, top_variants=max(top, 20), conformance=not no_conformance
    )
    with user_errors():
        result = run_analysis(store, flt, options, settings=settings)
        for path, fmt in ((export_bpmn, "bpmn"), (export_pnml, "pnml")):
            if path is not None:
                export_model(store, flt, path, miner, noise, fmt, settings)  # type: ignore[arg-type]
    if as_json:
        print_json(result)
    else:
        print_report(result, top)
    for path in (export_bpmn, export_pnml):
        if path is not None:
            (err_console if as_json else console).print(f"model written to {path}")


def register(app: typer.Typer) -> None:
    """Add ``analyze`` to ``app``."""
    app.command("analyze")(analyze)
