"""What an import is asked to do (``ImportOptions``) and what it did (``ImportReport``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("auto", "csv", "xes", "parquet", "portal-json")

# How many rejected rows a report keeps with their reasons (the count covers all of them).
MAX_REPORTED_ERRORS = 20

ProgressCallback = Callable[[str, int, int | None], None]
"""Called as ``(phase, done, total)``; ``total`` is None while it is unknown."""


@dataclass(frozen=True)
class ImportOptions:
    """How to read one file. ``None`` means "take it from the file, else the default"."""

    format: str = "auto"
    mapping: Mapping[str, str] = field(default_factory=dict)  # source column -> wire field
    procedure: str | None = None  # default: the file's stem
    org_unit: str | None = None  # default: the file's stem
    timezone: str | None = None  # how to read naive timestamps; None = reject them
    strict: bool = False  # write nothing when any row is bad
    order_as_time: bool = False  # no time column: time from the position in the file
    chunk_rows: int = 50_000  # size of the chunks ``read_events`` yields
    max_attributes: int = 64
    max_attributes_bytes: int = 8192
    local_timezone: str = "Asia/Ho_Chi_Minh"  # the portal's local time (settings.timezone)


@dataclass(frozen=True)
class RowError:
    """One rejected row: where it is in the file, which field, and why."""

    where: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.reason}"


@dataclass
class ImportReport:
    """What ``import_file`` read, wrote, rejected and filled in."""

    path: Path
    format: str
    rows_read: int = 0
    written: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_REPORTED_ERRORS
    filled: dict[str, str] = field(default_factory=dict)  # field -> what was filled and why
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    aborted_strict: bool = False  # --strict and some row was bad: nothing written

    def add_error(self, error: RowError) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "format": self.format,
            "rows_read": self.rows_read,
            "written": self.written,
            "rejected": self.rejected,
            "errors": [
                {"where": e.where, "field": e.field, "reason": e.reason} for e in self.errors
            ],
            "filled": self.filled,
            "notes": self.notes,
            "files": [str(p) for p in self.files],
            "seconds": round(self.seconds, 3),
            "aborted_strict": self.aborted_strict,
        }
