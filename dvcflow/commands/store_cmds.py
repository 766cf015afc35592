"""Store verbs: ``compact`` and ``status``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from dvcflow.commands.common import JsonOpt, cli_settings, console, print_json, user_errors
from ingest.store import EventStore


def compact(
    min_files: Annotated[
        int, typer.Option(help="only partitions with at least this many files")
    ] = 2,
) -> None:
    """Merge the store's small batch files: same rows, fewer files, duplicates dropped."""
    with user_errors():
        store = EventStore(cli_settings().data_dir)
        with console.status("compacting the store…"):
            stats = store.compact(min_files=min_files)
    console.print(
        f"compacted {stats.partitions} partitions: {stats.files_before} → {stats.files_after} "
        f"files, {stats.rows_before:,} → {stats.rows_after:,} rows "
        f"({stats.rows_before - stats.rows_after:,} duplicates dropped)"
    )


def summary_table(rows: list[dict], title: str | None = None) -> Table:
    """Per procedure: dossiers, events, first and last event in local time
    (``settings.timezone``; the store keeps UTC)."""
    tz = ZoneInfo(cli_settings().timezone)

    def local(ts: datetime | None) -> str:
        return ts.astimezone(tz).strftime("%Y-%m-%d %H:%M") if ts else "–"

    table = Table("procedure", "dossiers", "events", "first (local)", "last (local)", title=title)
    for r in rows:
        table.add_row(
            r["procedure_code"],
            f"{r['cases']:,}",
            f"{r['events']:,}",
            local(r["first"]),
            local(r["last"]),
        )
    return table


def status(json_out: JsonOpt = False) -> None:
    """What the store holds: events, dossiers and time span per procedure."""
    with user_errors():
        settings = cli_settings()
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
    console.print(summary_table(rows))


def register(app: typer.Typer) -> None:
    app.command()(compact)
    app.command()(status)
