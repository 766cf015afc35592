"""The ``dvcflow`` command: one verb per job, global ``--data-dir``."""

from __future__ import annotations

import sys

from dvcflow import early_stop

early_stop.install()  # before the heavy imports: a worker stopped while starting exits 0

from dvcflow import early_parse  # noqa: E402

early_parse.start(sys.argv)  # `import FILE.xes`: the parse runs while the rest is imported

from pathlib import Path  # noqa: E402
from typing import Annotated  # noqa: E402

import typer  # noqa: E402

from dvcflow import __version__  # noqa: E402
from dvcflow.settings import get_settings  # noqa: E402

app = typer.Typer(
    name="dvcflow",
    help="Event-driven process mining for public administrative procedures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dvcflow {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="DVCFLOW_DATA_DIR",
            help="where the event store lives (default ./data)",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="show version")
    ] = False,
) -> None:
    from dvcflow.commands.common import start_run

    start_run(data_dir=data_dir)  # the verbs build one Settings on it and pass it down
    get_settings.cache_clear()  # a notebook-style caller in this process sees the env of now


def _register_all() -> None:
    from dvcflow.commands import (
        analyze_cmd,
        demo_cmd,
        derive_cmd,
        generate_cmd,
        import_cmd,
        reform_cmds,
        settings_cmd,
        store_cmds,
        stream_cmds,
        warn_cmd,
        web_cmds,
    )

    for module in (
        generate_cmd,
        import_cmd,
        store_cmds,
        derive_cmd,
        stream_cmds,
        web_cmds,
        analyze_cmd,
        reform_cmds,
        warn_cmd,
        demo_cmd,
        settings_cmd,
    ):
        module.register(app)


_register_all()


if __name__ == "__main__":
    app()
