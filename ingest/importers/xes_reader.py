"""XES and XES.gz through the Rust parser (rustxes, what ``pm4py.read_xes`` uses), else
``pm4py.read_xes``'s iterparse.

rustxes is several times faster. It keeps
``lifecycle:transition`` and ``org:resource``; should a file make it fail, or drop the
lifecycle that the file has, the pure-Python ``iterparse`` parser reads it instead.
"""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from dvcflow.errors import InputFileError
from ingest.importers.source import SourceFrame, open_bytes

CASE = "case:concept:name"
TIME = "time:timestamp"
_STAMP = re.compile(rb'key="time:timestamp"\s+value="([^"]*)"')
_OFFSET = re.compile(rb"(Z|[+-]\d\d:?\d\d)$")


def _naive_times(path: Path) -> bool:
    """Whether the file writes times without an offset (sampled from its first 1 MiB).

    pm4py reads such times as UTC without a word; the mapper must see them as naive.
    """
    values = _STAMP.findall(open_bytes(path, 1 << 20))
    return bool(values) and not any(_OFFSET.search(v.strip()) for v in values)


def _pm4py_read(path: Path, variant: str | None) -> pd.DataFrame:
    import pm4py  # heavy: imported only when an XES file is read

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm4py.read_xes(str(path), variant=variant)


def _rustxes_read(path: Path) -> pa.Table:
    """The file through rustxes directly, as pm4py's rustxes variant reads it, without
    importing pm4py itself (1.5 s of a big import) and without a pandas copy."""
    from dvcflow import early_parse

    table = early_parse.take(str(path))  # parsed by the CLI's child while it started
    if table is None:
        import rustxes

        table = rustxes.import_xes(str(path))[0].to_arrow()
    return _as_pandas_reads(table)


def _as_pandas_reads(table: pa.Table) -> pa.Table:
    """Column types as ``pm4py.read_xes`` (pandas) has them, so stored values do not depend
    on the reader: naive times are UTC instants, integers with gaps are floats. Columns in
    name order: rustxes's order changes from run to run, and with it the attributes' keys."""
    columns = []
    names = sorted(table.column_names)
    for name in names:
        values = table.column(name)
        kind = values.type
        if pa.types.is_large_string(kind):
            values = values.cast(pa.string())
        elif pa.types.is_timestamp(kind) and kind.tz is None:
            values = values.cast(pa.timestamp(kind.unit, "UTC"))
        elif pa.types.is_integer(kind) and values.null_count:
            values = values.cast(pa.float64())
        columns.append(values)
    return pa.table(columns, names=names)


def read_xes(path: Path) -> SourceFrame:
    notes = []
    table: pa.Table | None = None
    try:
        table = _rustxes_read(path)
    except BaseException as exc:  # rustxes panics with a BaseException on bad XML
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        notes.append(f"the fast XES parser failed ({type(exc).__name__}); used iterparse")
    lost_lifecycle = table is not None and "lifecycle:transition" not in table.column_names
    if lost_lifecycle and b'"lifecycle:transition"' in open_bytes(path, 1 << 20):
        notes.append("the fast XES parser lost lifecycle:transition; used iterparse")
        table = None
    if table is not None and CASE not in table.column_names:
        # rustxes drops the trace of an event whose trace has no name: read the traces
        table = _numbered_traces(path)
        notes.append("the file's traces have no name: numbered 1, 2, ... in file order")
    if table is None:
        return _read_iterparse(path, notes)
    table = table.drop_columns([c for c in table.column_names if str(c).startswith("@@")])
    if TIME in table.column_names and _naive_times(path):
        stamps = table.column(TIME)
        if pa.types.is_timestamp(stamps.type) and stamps.type.tz is not None:
            index = table.column_names.index(TIME)
            table = table.set_column(index, TIME, stamps.cast(pa.timestamp(stamps.type.unit)))
        notes.append("the file's times have no UTC offset")
    cases = table.column(CASE).combine_chunks() if CASE in table.column_names else None

    @functools.cache
    def positions() -> np.ndarray:
        codes = cases.dictionary_encode().indices.to_numpy(zero_copy_only=False)  # type: ignore[union-attr]
        return pd.Series(codes).groupby(codes).cumcount().to_numpy()

    def label(i: int) -> str:
        if cases is None:
            return f"event {i + 1}"
        return f"trace {cases[i].as_py()!r} event {int(positions()[i]) + 1}"

    return SourceFrame(frame=None, table=table, label=label, notes=notes)


def _numbered_traces(path: Path) -> pa.Table:
    """Events with their trace's name, or its number (from 1) when it has none."""
    import pm4py

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = pm4py.read_xes(
            str(path), variant="iterparse", return_legacy_log_object=True, show_progress_bar=False
        )
    rows = []
    for number, trace in enumerate(log, start=1):
        name = str(trace.attributes.get("concept:name", number))
        rows.extend({**event, CASE: name} for event in trace)
    frame = pd.DataFrame(rows)
    return _as_pandas_reads(pa.Table.from_pandas(frame, preserve_index=False))


def _read_iterparse(path: Path, notes: list[str]) -> SourceFrame:
    """pm4py's pure-Python parser, for files rustxes cannot read."""
    try:
        frame = _pm4py_read(path, "iterparse")
    except Exception as exc:  # noqa: BLE001 - report any parser error as a user error
        raise InputFileError(f"{path}: not a readable XES file ({exc}).") from None
    if not isinstance(frame, pd.DataFrame):
        raise InputFileError(f"{path}: pm4py did not return an event table for this file.")
    frame = frame.drop(columns=[c for c in frame.columns if str(c).startswith("@@")])
    if TIME in frame.columns and _naive_times(path):
        stamps = frame[TIME]
        if isinstance(stamps.dtype, pd.DatetimeTZDtype):
            frame[TIME] = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        notes.append("the file's times have no UTC offset")
    frame = frame.reset_index(drop=True)
    cases = frame[CASE] if CASE in frame.columns else None
    position = frame.groupby(CASE, sort=False).cumcount() if cases is not None else None

    def label(i: int) -> str:
        if cases is None or position is None:
            return f"event {i + 1}"
        return f"trace {cases.iat[i]!r} event {int(position.iat[i]) + 1}"

    return SourceFrame(frame=frame, label=label, notes=notes)
