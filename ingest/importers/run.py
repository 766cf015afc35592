"""Read a file as events (``read_events``) or import it into the store (``import_file``).

Policy: valid rows are kept and bad ones reported with their reasons; with ``strict``,
nothing is written when any row is bad. Files are not held to the stream's attribute caps:
an event with more attributes is kept whole and the breach noted. Each stored event keeps
its row in the file (``source_order``), which orders events of equal timestamp. The write
is all or nothing (``EventStore.write``). The store batch is named from the file's content,
so importing the same file again rewrites the same files and changes nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from dvcflow.errors import DvcflowError, InputFileError
from ingest.importers.contract import check_frame
from ingest.importers.csv_reader import read_csv
from ingest.importers.mapping import WireFrame, to_wire
from ingest.importers.options import (
    FORMATS,
    ImportOptions,
    ImportReport,
    ProgressCallback,
    RowError,
)
from ingest.importers.parquet_reader import read_parquet
from ingest.importers.portal_json import read_portal_json
from ingest.importers.source import SourceFrame, detect_format
from ingest.importers.xes_reader import read_xes
from ingest.pseudonym import Pseudonymizer
from ingest.schema import CASE_ATTRIBUTES_SCHEMA, STORE_SCHEMA
from ingest.store import EventStore

READERS = {
    "csv": read_csv,
    "xes": read_xes,
    "parquet": read_parquet,
    "portal-json": read_portal_json,
}


def _check_path(path: Path) -> None:
    if not path.exists():
        raise InputFileError(f"{path}: no such file.")
    if not path.is_file():
        raise InputFileError(f"{path}: not a file.")


def resolve_format(path: Path, options: ImportOptions) -> str:
    if options.format not in FORMATS:
        raise DvcflowError(f"--format {options.format!r} is not one of {', '.join(FORMATS)}.")
    return detect_format(path) if options.format == "auto" else options.format


def load(path: Path, options: ImportOptions) -> tuple[str, SourceFrame, WireFrame]:
    """Read and map a whole file: its format, its source table and its wire-format rows."""
    path = Path(path)
    _check_path(path)
    fmt = resolve_format(path, options)
    src = READERS[fmt](path)
    if src.num_rows == 0 and not src.skipped:
        raise InputFileError(f"{path}: the file holds no events.")
    timezone = options.timezone
    if fmt == "portal-json":
        timezone = options.timezone or options.local_timezone
    if src.num_rows == 0:
        wire = WireFrame(frame=pd.DataFrame(), label=src.label)
    else:
        wire = to_wire(src, path, options, timezone)
        src.release()  # the source table is no longer needed: free it
    return fmt, src, wire


def _wire_dict(row: dict, json_attributes: bool) -> dict:
    out = {k: v for k, v in row.items() if v is not None and v is not pd.NaT}
    if "timestamp" in out:
        out["timestamp"] = out["timestamp"].to_pydatetime()
    if json_attributes and "attributes" in out:
        out["attributes"] = orjson.loads(out["attributes"])
    return out


def read_events(
    path: Path, options: ImportOptions | None = None, report: ImportReport | None = None
) -> Iterator[list[dict]]:
    """Chunks of wire-format event dicts in file order (aware datetimes, raw applicant_id).

    Contract checks are left to the consumer (the sink routes bad events to the DLQ). Rows
    that cannot become an event at all (an unreadable or naive time) are recorded in
    ``report`` and skipped; without a report the first of them raises ``InputFileError``.
    """
    options = options or ImportOptions()
    path = Path(path)
    fmt, src, wire = load(path, options)
    if report is not None:
        report.format = fmt
        report.filled.update(wire.filled)
        report.notes.extend(wire.notes)
    problems = [*src.skipped] + [
        RowError(wire.label(i), f, r) for i, (f, r) in sorted(wire.bad.items())
    ]
    if problems and report is None:
        first = problems[0]
        raise InputFileError(f"{path} {first.where}: {first.field}: {first.reason}.")
    for p in problems:
        report.add_error(p)  # type: ignore[union-attr]
    frame = wire.frame
    if wire.bad:
        frame = frame.drop(index=list(wire.bad))
    step = max(1, options.chunk_rows)
    for start in range(0, len(frame), step):
        chunk = frame.iloc[start : start + step]
        json_attributes = wire.attribute_counts is not None
        yield [_wire_dict(r, json_attributes) for r in chunk.to_dict("records")]


_ORDER_INDEX = STORE_SCHEMA.get_field_index("source_order")


def _case_table(wire: WireFrame, ingested_at: datetime) -> pa.Table | None:
    cases = wire.case_attributes
    if cases is None or cases.empty:
        return None
    table = pa.Table.from_pandas(cases, preserve_index=False)
    stamp = pa.array([ingested_at] * table.num_rows, CASE_ATTRIBUTES_SCHEMA.field(3).type)
    return table.append_column("ingested_at", stamp).cast(CASE_ATTRIBUTES_SCHEMA)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:20]


def import_file(
    path: Path,
    store: EventStore,
    options: ImportOptions | None = None,
    *,
    pseudonymizer: Pseudonymizer | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Validate, pseudonymise and write one file; the report says what happened."""
    options = options or ImportOptions()
    path = Path(path)
    started = time.perf_counter()
    if pseudonymizer is None:
        from dvcflow.settings import get_settings

        pseudonymizer = Pseudonymizer(get_settings().require_pseudonym_key())
    notify = progress or (lambda phase, done, total: None)

    notify("reading", 0, None)
    fmt, src, wire = load(path, options)
    report = ImportReport(path=path, format=fmt, filled=dict(wire.filled), notes=list(wire.notes))
    n = len(wire.frame)
    report.rows_read = n + len(src.skipped)
    for problem in src.skipped:
        report.add_error(problem)

    notify("checking", 0, n)
    keep = np.delete(np.arange(n, dtype=np.int64), sorted(wire.bad))
    errors = {i: [{"field": f, "reason": r}] for i, (f, r) in wire.bad.items()}
    over_caps: dict[int, str] = {}
    tables = []
    step = max(1, options.chunk_rows) * 4
    for start in range(0, len(keep), step):
        rows = keep[start : start + step]
        chunk_caps: dict[int, str] = {}
        counts = wire.attribute_counts
        table, chunk_errors = check_frame(
            wire.frame.iloc[rows],
            pseudonymizer,
            attribute_counts=None if counts is None else counts[rows],
            ingested_at=datetime.now(UTC),
            max_attributes=options.max_attributes,
            max_attributes_bytes=options.max_attributes_bytes,
            clean_attributes=wire.clean_attributes,
            over_caps=chunk_caps,
        )
        kept_rows = np.delete(rows, list(chunk_errors))
        tables.append(table.set_column(_ORDER_INDEX, "source_order", pa.array(kept_rows)))
        for pos, errs in chunk_errors.items():
            errors[int(rows[pos])] = errs
        over_caps.update({int(rows[pos]): reason for pos, reason in chunk_caps.items()})
        notify("checking", min(start + step, len(keep)), n)
    for i in sorted(errors):
        first = errors[i][0]
        report.add_error(RowError(wire.label(i), first["field"], first["reason"]))
    if over_caps:
        first_at = min(over_caps)
        report.notes.append(
            f"{len(over_caps)} event(s) carry attributes above the stream's caps "
            f"({options.max_attributes} keys, {options.max_attributes_bytes} bytes), e.g. "
            f"{wire.label(first_at)}: {over_caps[first_at]}; kept whole (files are not capped)"
        )

    if options.strict and report.rejected:
        report.aborted_strict = True
    elif tables:
        table = pa.concat_tables(tables)
        notify("writing", 0, table.num_rows)
        report.files = store.write(
            table, f"import-{file_digest(path)}", _case_table(wire, datetime.now(UTC))
        )
        report.written = table.num_rows
        notify("writing", table.num_rows, table.num_rows)
    report.seconds = time.perf_counter() - started
    return report
