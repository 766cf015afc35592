"""``dvcflow generate``: write a synthetic log with its known ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dvcflow.commands.common import JsonOpt, console, print_json, user_errors


def generate(
    procedures: Annotated[
        str,
        typer.Option("--procedures", help="'all' or comma-separated procedure codes"),
    ] = "all",
    cases: Annotated[int, typer.Option("--cases", min=1, help="number of dossiers")] = 3000,
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same log)")] = 0,
    out: Annotated[
        Path, typer.Option("--out", help="folder for events.parquet, events.csv, ground_truth")
    ] = Path("generated"),
    gzip_csv: Annotated[
        bool, typer.Option("--gzip-csv", help="write events.csv.gz instead of events.csv")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Generate Vietnamese dossier events with planted facts (ground_truth.json)."""
    from sample_logs.generator import generate as run

    with user_errors():
        if as_json:
            result = run(procedures, cases, seed, out, gzip_csv=gzip_csv)
        else:
            with Progress(
                TextColumn("[progress.description]{task.description:<32}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task("generating", total=1.0)
                result = run(
                    procedures,
                    cases,
                    seed,
                    out,
                    gzip_csv=gzip_csv,
                    progress=lambda what, done: bar.update(task, description=what, completed=done),
                )
    summary = {
        "out": str(result.out),
        "cases": result.cases,
        "events": result.events,
        "seconds": round(result.seconds, 3),
        "files": {k: str(v) for k, v in result.paths.items()},
    }
    if as_json:
        print_json(summary)
        return
    table = Table(
        title=f"{result.events:,} events, {result.cases:,} dossiers", title_justify="left"
    )
    table.add_column("file")
    table.add_column("bytes", justify="right")
    for path in result.paths.values():
        table.add_row(str(path), f"{path.stat().st_size:,}")
    console.print(table)
    rate = result.events / result.seconds if result.seconds else 0.0
    console.print(f"{result.seconds:.2f} s ({rate:,.0f} events/s), seed {seed}")


def register(app: typer.Typer) -> None:
    """Add ``dvcflow generate``."""
    app.command("generate")(generate)
