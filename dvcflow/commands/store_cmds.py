"""Store verbs: ``compact`` and ``status``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dvcflow.commands.common import JsonOpt, console, print_json, user_errors
from dvcflow.settings import get_settings
from ingest.store import EventStore


def compact(
    min_files: Annotated[
        int, typer.Option(help="only partitions with at least this many files")
    ] = 2,
) -> None:
    """Merge the store's small batch files: same rows, fewer files, duplicates dropped."""
    with user_errors():
        store = EventStore(get_settings().data_dir)
        with console.status("compacting the store…"):
            stats = store.compact(min_files=min_files)
    console.print(
        f"compacted {stats.partitions} partitions: {stats.files_before} → {stats.files_after} "
        f"files, {stats.rows_before:,} → {stats.rows_after:,} rows "
        f"({stats.rows_before - stats.rows_after:,} duplicates dropped)"
    )


def status(json_out: JsonOpt = False) -> None:
    """What the store holds: events, dossiers and time span per procedure."""
    with user_errors():
        settings = get_settings()
        store = EventStore(settings.data_dir)
        rows = store.summary()
        info = {
            "data_dir": str(settings.data_dir),
            "version": store.version(),
            "files": len(store.files()),
            "procedures": rows,
        }
    if json_out:
        print_json(info)
        return
    console.print(
        f"store [bold]{settings.data_dir}[/] · {info['files']} files · version {info['version']}"
    )
    if not rows:
        console.print(
            "the store is empty: run `dvcflow generate` and `dvcflow import`, or `dvcflow demo`"
        )
        return
    table = Table("procedure", "dossiers", "events", "first", "last")
    for r in rows:
        table.add_row(
            r["procedure_code"],
            f"{r['cases']:,}",
            f"{r['events']:,}",
            str(r["first"])[:16],
            str(r["last"])[:16],
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(compact)
    app.command()(status)
