"""``dvcflow import FILE``: load a CSV, XES, Parquet or portal JSON log into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from dvcflow.commands.common import (
    JsonOpt,
    cli_settings,
    console,
    err_console,
    fail,
    print_json,
    user_errors,
)

HELP = """Load an event log FILE into the store (pseudonymising applicant ids).

Formats: XES / XES.gz, CSV / CSV.gz (comma, semicolon or tab), Parquet, and the national
portal's dossier synchronisation JSON (portal-json). pm4py's column names
(case:concept:name, concept:name, time:timestamp, org:resource, lifecycle:transition) and
dvcflow's own field names are recognised; --map COLUMN=FIELD names the others. Columns that
are no field are kept as attributes; trace attributes (XES trace, case:* columns) once per
dossier in the case-attribute table.

Caps: DVCFLOW_MAX_ATTRIBUTES / DVCFLOW_MAX_ATTRIBUTES_BYTES bound the stream (gateway and
Kafka sink send wider events to the DLQ). A file import is not capped: a wider event is
kept whole and the report notes it. Events of equal time keep their order in the file. The
import is all or nothing: a failed write leaves no part of it in the store.

Missing procedure codes and org units are filled from --procedure / --org-unit (default:
the file's name), and missing event ids are derived from each event's content and position
in its case; the report says what was filled. Importing the same file again changes nothing.

Bad rows: valid rows are kept and bad ones reported with their reasons (exit code 2); with
--strict nothing is written when any row is bad. Timestamps without a UTC offset are bad
rows unless --timezone says how to read them. A log without any times (activity names
only) imports with --order-as-time: each event gets a time from its position in the file,
one second apart, and the flag time_from_order; orders, paths and variants are then right,
durations mean nothing.
"""


def import_command(
    file: Annotated[Path, typer.Argument(help="the log file to import", show_default=False)],
    format: Annotated[
        str, typer.Option("--format", help="auto, csv, xes, parquet or portal-json")
    ] = "auto",
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="COLUMN=FIELD, e.g. --map CaseID=case_id (repeatable)"),
    ] = None,
    procedure: Annotated[
        str | None, typer.Option("--procedure", help="procedure code where the file has none")
    ] = None,
    org_unit: Annotated[
        str | None, typer.Option("--org-unit", help="org unit code where the file has none")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="read times without an offset in this zone, e.g. UTC"),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="write nothing when any row is bad")
    ] = False,
    order_as_time: Annotated[
        bool,
        typer.Option(
            "--order-as-time",
            help="a log without times: each event's time from its position (flagged)",
        ),
    ] = False,
    json: JsonOpt = False,
) -> None:
    from ingest.importers import ImportOptions, import_file, parse_map
    from ingest.pseudonym import Pseudonymizer
    from ingest.store import EventStore

    with user_errors():
        settings = cli_settings()
        _check_timezone(timezone)
        options = ImportOptions(
            format=format,
            mapping=parse_map(map_),
            procedure=procedure,
            org_unit=org_unit,
            timezone=timezone,
            strict=strict,
            order_as_time=order_as_time,
            max_attributes=settings.max_attributes,
            max_attributes_bytes=settings.max_attributes_bytes,
            local_timezone=settings.timezone,
        )
        pseudonymizer = Pseudonymizer(settings.require_pseudonym_key())
        store = EventStore(settings.data_dir)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=json or not err_console.is_terminal,
        ) as bar:
            task = bar.add_task(f"reading {file.name}", total=None)

            def progress(phase: str, done: int, total: int | None) -> None:
                bar.update(task, description=f"{phase} {file.name}", completed=done, total=total)

            report = import_file(
                file, store, options, pseudonymizer=pseudonymizer, progress=progress
            )

    if json:
        print_json(report.to_dict())
    else:
        _print_report(report)
    if report.rejected:
        first = report.errors[0] if report.errors else None
        where = f"; first: {first}" if first else ""
        kept = (
            "nothing written (--strict)"
            if report.aborted_strict
            else f"{report.written:,} valid rows written"
        )
        fail(f"{file}: {report.rejected:,} of {report.rows_read:,} rows rejected, {kept}{where}")


def _check_timezone(name: str | None) -> None:
    if name is None:
        return
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from dvcflow.errors import DvcflowError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DvcflowError(
            f"--timezone {name!r} is not a known time zone (e.g. Asia/Ho_Chi_Minh, UTC)."
        ) from None


def _print_report(report) -> None:  # noqa: ANN001 - ImportReport, imported lazily
    table = Table(title=f"import {report.path.name} ({report.format})", show_header=False)
    table.add_row("rows read", f"{report.rows_read:,}")
    table.add_row("written", f"{report.written:,}")
    table.add_row("rejected", f"{report.rejected:,}")
    table.add_row("files", f"{len(report.files):,}")
    table.add_row("time", f"{report.seconds:.1f} s")
    for name, what in report.filled.items():
        table.add_row(f"filled {name}", what)
    for note in report.notes:
        table.add_row("note", note)
    console.print(table)
    for error in report.errors:
        err_console.print(f"  {error}", highlight=False, markup=False)
    if report.rejected > len(report.errors):
        err_console.print(f"  ... and {report.rejected - len(report.errors):,} more")


def register(app: typer.Typer) -> None:
    """Add ``dvcflow import`` to ``app``."""
    app.command("import", help=HELP)(import_command)
