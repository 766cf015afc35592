"""CSV (comma, semicolon or tab; optionally gzipped) read with Arrow, every cell as text.

Cells stay text here so that ids keep their leading zeros; the mapper decides which columns
are times and which attribute columns hold numbers. Records with the wrong number of cells
are skipped and reported, not fatal.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from dvcflow.errors import InputFileError
from ingest.importers.options import RowError
from ingest.importers.source import SourceFrame, open_bytes

_DELIMITERS = (",", ";", "\t", "|")


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(path: Path) -> SourceFrame:
    data = open_bytes(path).removeprefix(b"\xef\xbb\xbf")
    if not data.strip():
        raise InputFileError(f"{path}: the file is empty; a CSV log needs a header row.")
    first_line = data.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    delimiter = _sniff_delimiter(first_line)
    names = next(csv.reader([first_line.rstrip("\r")], delimiter=delimiter), [])
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InputFileError(f"{path}: the header repeats column(s) {', '.join(map(repr, dupes))}.")

    skipped: list[RowError] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        where = f"line {row.number}" if row.number else f"record {row.text[:60]!r}"
        reason = f"expected {row.expected_columns} cells, found {row.actual_columns}"
        skipped.append(RowError(where, "row", reason))
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: not a readable CSV file ({exc}).") from None

    notes = []
    unnamed = [n for n in table.column_names if not n.strip() or n.startswith("Unnamed:")]
    if unnamed:
        table = table.drop_columns(unnamed)
        notes.append(f"ignored {len(unnamed)} unnamed column(s) (a row index)")
    return SourceFrame(
        frame=None,
        table=table,
        label=lambda i: f"row {i + 1}",
        skipped=skipped,
        notes=notes,
        text_cells=True,
    )
