"""The one exception type a user can act on: its message names the file, field or setting.

The CLI prints it as one line (no traceback); the API turns it into a problem detail.
"""

from __future__ import annotations

from collections.abc import Mapping


class DvcflowError(Exception):
    """An error caused by the user's input or settings, with a message that says what to fix."""


class InputFileError(DvcflowError):
    """A file to import is missing, unreadable or malformed."""


class FilterError(DvcflowError):
    """A filter names an unknown procedure or unit, or selects nothing.

    Structured, so that each front end words it with its own names: ``field`` is the
    ``LogFilter`` field at fault (or ``as_of``; None when no one filter is), ``value`` what
    was asked for, ``reason`` why it selects nothing, in words naming no option and no
    server path. ``also`` is a second (field, value) the reason is about, as the end of a
    date range that starts after it.
    """

    def __init__(
        self,
        reason: str,
        field: str | None = None,
        value: object = None,
        also: tuple[str, object] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason, self.field, self.value, self.also = reason, field, value, also

    def worded(self, names: Mapping[str, str], sep: str = " ") -> str:
        """The sentence with each field called by ``names`` (a CLI option, a query
        parameter; others by their field name), its value joined by ``sep``."""

        def part(field: str, value: object) -> str:
            name = names.get(field, field)
            return name if value is None else f"{name}{sep}{value}"

        if self.field is None:
            return self.reason
        fields = [part(self.field, self.value)]
        if self.also is not None:
            fields.append(part(*self.also))
        return f"{' and '.join(fields)}: {self.reason}"

    def __str__(self) -> str:
        return self.worded({})


class NoMatch(FilterError):
    """The filters are valid but select no dossier: an empty pick, not a mistake."""
