"""``dvcflow derive``: bring the derived layer (``mining.derived``) up to the store."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Annotated

import typer

from dvcflow.commands.common import JsonOpt, cli_settings, console, print_json, user_errors
from ingest.store import EventStore
from mining.derived import DeriveReport, derive


def _show(report: DeriveReport, json_out: bool) -> None:
    if json_out:
        print_json(asdict(report))
        return
    what = "rebuilt from raw events" if report.rebuilt else f"{report.new_files} new store files"
    console.print(
        f"derived layer v{report.version}: {what}, {report.dossiers:,} dossiers / "
        f"{report.step_rows:,} steps recomputed, {report.segments} segments, "
        f"{report.seconds:.2f} s"
    )


def derive_cmd(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="recompute the whole layer from the raw events")
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="keep deriving as batches land (Ctrl-C stops)")
    ] = False,
    interval: Annotated[
        float, typer.Option(help="with --follow: seconds between looks at the store")
    ] = 1.0,
    json_out: JsonOpt = False,
) -> None:
    """Update the per-dossier and per-step tables beside the events (only the dossiers new
    store files touch), or rebuild them."""
    with user_errors():
        store = EventStore(cli_settings().data_dir)
        _show(derive(store, rebuild=rebuild), json_out)
        try:
            while follow:
                time.sleep(interval)
                report = derive(store)
                if report.new_files:
                    _show(report, json_out)
        except KeyboardInterrupt:  # the way --follow is stopped
            return


def register(app: typer.Typer) -> None:
    app.command("derive")(derive_cmd)
