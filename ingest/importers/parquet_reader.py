"""Parquet: pm4py-style logs (``case:concept:name`` ...) and our own wire-format logs.

Our generated logs may carry ``attributes`` as JSON text or as a struct; both become a dict
per row. Columns the store adds itself (``ingested_at``, an ``applicant_ref`` made with some
other key) are not imported.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from dvcflow.errors import InputFileError
from ingest.importers.source import SourceFrame

_STORE_ONLY = ("ingested_at", "applicant_ref")


def _attributes_column(column: pa.ChunkedArray) -> list:
    if pa.types.is_struct(column.type) or pa.types.is_map(column.type):
        values = column.to_pylist()
        if pa.types.is_map(column.type):
            return [dict(v) if v is not None else None for v in values]
        return values
    out = []
    for text in column.to_pylist():
        if text in (None, ""):
            out.append(None)
            continue
        try:
            out.append(orjson.loads(text))
        except orjson.JSONDecodeError:
            out.append(text)  # the contract check names it: attributes must be an object
    return out


def read_parquet(path: Path) -> SourceFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputFileError(f"{path}: not a readable Parquet file ({exc}).") from None
    notes = []
    dropped = [c for c in _STORE_ONLY if c in table.column_names]
    if dropped:
        table = table.drop_columns(dropped)
        notes.append(f"ignored store-only column(s) {', '.join(dropped)}")
    attributes = None
    if "attributes" in table.column_names:
        attributes = _attributes_column(table.column("attributes"))
        table = table.drop_columns(["attributes"])
    frame = table.to_pandas()
    if attributes is not None:
        frame["attributes"] = attributes
    return SourceFrame(frame=frame, label=lambda i: f"row {i + 1}", notes=notes)
