"""What every CLI verb shares: the console, errors as one line, JSON output, filters."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console

from dvcflow.errors import DvcflowError, FilterError
from dvcflow.settings import Settings, SettingsError, get_settings
from mining.filters import LogFilter

console = Console()
err_console = Console(stderr=True)


def show_logs() -> None:
    """A long-running verb's own messages (``dvcflow.*`` loggers at INFO) on stderr: when the
    dashboard's warming is done, a figure that failed, a sink's partitions."""
    logger = logging.getLogger("dvcflow")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


# this run's global options (``dvcflow --data-dir``), set by the command's callback
_run: dict[str, Any] = {"options": None, "settings": None}


def start_run(**options: Any) -> None:
    """A new command run with these global options (None: not given)."""
    _run["options"] = {k: v for k, v in options.items() if v is not None}
    _run["settings"] = None


def cli_settings() -> Settings:
    """The one ``Settings`` of this command run: the environment's with the global options
    (``--data-dir``) on top, built once and passed to everything the verb calls (mining,
    the store, the web service); the environment itself is never written. Outside a
    command run (a verb's function called from Python), the environment's."""
    if _run["options"] is None:
        return get_settings()
    if _run["settings"] is None:
        _run["settings"] = Settings(**_run["options"])
    return _run["settings"]


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn errors the user can act on into one clear line and exit code 2."""
    try:
        yield
    except FilterError as exc:
        fail(exc.worded(FILTER_OPTIONS))
    except (DvcflowError, SettingsError) as exc:
        fail(str(exc))


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def print_json(obj: Any) -> None:
    """One JSON document on stdout, for machines."""
    sys.stdout.write(
        orjson.dumps(
            obj, default=_default, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY
        ).decode()
        + "\n"
    )


# The option that sets each ``LogFilter`` field (and ``warn --as-of``): a ``FilterError``
# is worded with them.
FILTER_OPTIONS = {
    "procedure": "--procedure",
    "province": "--province",
    "commune": "--commune",
    "org_unit": "--org-unit",
    "date_from": "--from",
    "date_to": "--to",
    "channel": "--channel",
    "as_of": "--as-of",
}

# Typed option declarations shared by every analysing verb.
ProcedureOpt = Annotated[
    str | None, typer.Option("--procedure", help="procedure code, e.g. 1.001193")
]
ProvinceOpt = Annotated[str | None, typer.Option("--province", help="province code")]
CommuneOpt = Annotated[str | None, typer.Option("--commune", help="commune code")]
OrgUnitOpt = Annotated[str | None, typer.Option("--org-unit", help="org unit code")]
FromOpt = Annotated[
    datetime | None,
    typer.Option("--from", formats=["%Y-%m-%d"], help="dossiers received on or after this date"),
]
ToOpt = Annotated[
    datetime | None,
    typer.Option("--to", formats=["%Y-%m-%d"], help="dossiers received on or before this date"),
]
ChannelOpt = Annotated[
    str | None, typer.Option("--channel", help="submission channel: online, counter, postal")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="one JSON document on stdout")]


def make_filter(
    procedure: str | None = None,
    province: str | None = None,
    commune: str | None = None,
    org_unit: str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    channel: str | None = None,
) -> LogFilter:
    with user_errors():
        return LogFilter(
            procedure=procedure,
            province=province,
            commune=commune,
            org_unit=org_unit,
            date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None,
            channel=channel,
        )
