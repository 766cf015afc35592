"""What a format reader hands on: the file's table in file order, and how to name a row."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dvcflow.errors import InputFileError
from ingest.importers.options import RowError


@dataclass
class SourceFrame:
    """A file read into memory, before any mapping to the event contract.

    ``label(i)`` names row ``i`` (0-based, frame order) the way a user finds it in the file;
    ``skipped`` are records the reader could not even split into columns.
    """

    frame: pd.DataFrame
    label: Callable[[int], str]
    skipped: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    text_cells: bool = False  # every cell is text (CSV): attribute types are inferred


def open_bytes(path: Path, limit: int | None = None) -> bytes:
    """The (decompressed) bytes of ``path``, or its first ``limit`` bytes."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(limit) if limit is not None else fh.read()
    except (OSError, EOFError) as exc:
        raise InputFileError(f"{path}: cannot read the file ({exc}).") from None


def base_name(path: Path) -> str:
    """The file name without ``.gz`` and without its format suffix."""
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem, dot, _suffix = name.rpartition(".")
    return stem if dot and stem else name


def detect_format(path: Path) -> str:
    """Format from the file name, else from its first bytes."""
    name = path.name.lower().removesuffix(".gz")
    for suffix, fmt in (
        (".xes", "xes"),
        (".csv", "csv"),
        (".tsv", "csv"),
        (".txt", "csv"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
        (".json", "portal-json"),
        (".jsonl", "portal-json"),
        (".ndjson", "portal-json"),
    ):
        if name.endswith(suffix):
            return fmt
    head = open_bytes(path, 4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"<"):
        return "xes"
    if head.startswith((b"{", b"[")):
        return "portal-json"
    raise InputFileError(
        f"{path}: cannot tell the format from the name or content; "
        "pass --format csv, xes, parquet or portal-json."
    )
