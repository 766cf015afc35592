"""``dvcflow settings``: every setting with its variable, type, default, value and meaning.

Read from ``dvcflow.settings.Settings`` itself, so the list cannot fall behind the code.
Secrets (``SecretStr`` settings) show only whether they are set, never their value.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import orjson
import typer
from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python
from rich.padding import Padding
from rich.text import Text

from dvcflow.commands.common import JsonOpt, cli_settings, console, print_json, user_errors
from dvcflow.settings import Settings

ENV_PREFIX = Settings.model_config.get("env_prefix", "")


def is_secret(field: FieldInfo) -> bool:
    """A setting whose value is never printed: declared ``SecretStr`` (or optional one)."""
    annotation = field.annotation
    args = typing.get_args(annotation) if typing.get_origin(annotation) else ()
    return annotation is SecretStr or SecretStr in args


def type_name(annotation: Any) -> str:
    """``int``, ``str | None``, ``dict[str, float]``: the type as one writes it."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _shown(value: Any, secret: bool) -> Any:
    if secret:
        return None if value is None else "(set, hidden)"
    return to_jsonable_python(value)


def rows(settings: Settings) -> list[dict[str, Any]]:
    """One row per setting, in declaration order."""
    out = []
    for name, field in Settings.model_fields.items():
        secret = is_secret(field)
        out.append(
            {
                "name": name,
                "env": f"{ENV_PREFIX}{name}".upper(),
                "type": type_name(field.annotation),
                "default": _shown(field.get_default(call_default_factory=True), secret),
                "value": _shown(getattr(settings, name), secret),
                "secret": secret,
                "description": field.description or "",
            }
        )
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def settings_verb(json_out: JsonOpt = False) -> None:
    """Every setting: environment variable, type, default, current value and description
    (secrets show only whether they are set)."""
    with user_errors():
        listed = rows(cli_settings())
    if json_out:
        print_json(listed)
        return
    for r in listed:  # Text, not markup: a value such as ["79"] is printed as it is
        changed = r["value"] != r["default"]
        console.print(Text.assemble((r["env"], "bold"), f"  ({r['type']})"), highlight=False)
        values = Text.assemble(
            "current: ",
            (_cell(r["value"]), "yellow" if changed else ""),
            f"   default: {_cell(r['default'])}",
        )
        console.print(Padding(values, (0, 0, 0, 4), expand=False), highlight=False)
        console.print(Padding(Text(r["description"]), (0, 0, 0, 4), expand=False), highlight=False)


def register(app: typer.Typer) -> None:
    """Add this area's verbs to ``app``."""
    app.command("settings")(settings_verb)
