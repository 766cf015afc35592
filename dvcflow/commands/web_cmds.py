"""``dvcflow serve``: the web process (read API at /api, dashboard at /)."""

from __future__ import annotations

from typing import Annotated

import typer

from dvcflow.commands.common import cli_settings, console, fail, show_logs, user_errors


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="address to bind (setting DVCFLOW_HOST)")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="port (setting DVCFLOW_PORT, default 8050)")
    ] = None,
) -> None:
    """Serve the dashboard at / and the read API at /api (docs at /api/docs)."""
    from dashboard.server import run

    settings = cli_settings()
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    with user_errors():
        if not settings.data_dir.exists():
            fail(
                f"{settings.data_dir} does not exist: set --data-dir (or DVCFLOW_DATA_DIR) to "
                "an event store, or run `dvcflow demo`."
            )
        console.print(
            f"dvcflow web on http://{settings.host}:{settings.port}/ "
            f"(API docs: /api/docs, store: {settings.data_dir})",
            highlight=False,
        )
        show_logs()
        run(settings)


def register(app: typer.Typer) -> None:
    """Add this area's verbs to ``app``."""
    app.command("serve")(serve)
