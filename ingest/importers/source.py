"""What a format reader hands on: the file's table in file order, and how to name a row."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from dvcflow.errors import InputFileError
from ingest.importers.options import RowError

_ONE_TYPE = ("string", "empty", "boolean", "integer", "floating")


@dataclass
class SourceFrame:
    """A file read into memory, before any mapping to the event contract.

    The rows are a pandas ``frame`` or, from the Arrow-based readers (XES, CSV), an Arrow
    ``table`` that the mapper reads column by column without a pandas copy.
    ``label(i)`` names row ``i`` (0-based, frame order) the way a user finds it in the file;
    ``skipped`` are records the reader could not even split into columns.
    """

    frame: pd.DataFrame | None
    label: Callable[[int], str]
    skipped: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    text_cells: bool = False  # every cell is text (CSV): attribute types are inferred
    table: pa.Table | None = None

    @property
    def columns(self) -> list[str]:
        names = self.table.column_names if self.table is not None else self.frame.columns
        return [str(c) for c in names]

    @property
    def num_rows(self) -> int:
        return self.table.num_rows if self.table is not None else len(self.frame)

    def series(self, name: str) -> pd.Series:
        """A column as pandas reads it (what the row-by-row paths expect)."""
        if self.table is not None:
            return self.table.column(name).to_pandas()
        return self.frame[self.frame.columns[self.columns.index(name)]].reset_index(drop=True)

    def array(self, name: str) -> pa.Array | None:
        """A column as one Arrow array; None when its values have no single Arrow type."""
        if self.table is not None:
            return self.table.column(name).combine_chunks()
        series = self.series(name)
        mixed = pd.api.types.infer_dtype(series, skipna=True) not in _ONE_TYPE
        if series.dtype == object and mixed:
            return None
        try:
            return pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return None

    def add_column(self, name: str, values: pa.Array) -> None:
        if self.table is not None:
            self.table = self.table.append_column(name, values)
        else:
            self.frame = self.frame.assign(**{name: values.to_pandas()})

    def release(self) -> None:
        """Drop the rows once mapped (a big log's source table is large)."""
        self.frame = None if self.frame is None else self.frame.iloc[0:0]
        self.table = None if self.table is None else self.table.slice(0, 0)


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
