"""Turns the event buffer into the wire-format table and writes Parquet and CSV.

Columns are the wire-format fields of ``ingest.schema.Event`` (``applicant_id`` is a fake
id that ingest pseudonymises like any other). Times are local (+07:00); ``attributes`` is
JSON text in both files. Events after the extraction moment are cut, so the newest dossiers
are still open, as in a real extract.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sample_logs.generator.dossiers import Dossiers
from sample_logs.generator.events import ACTORS, CHANNELS, LIFECYCLES, OUTCOMES, EventBuffer
from sample_logs.generator.geography import PROVINCES

OFFSET = "+07:00"
UTC_SHIFT = 7 * 3600


def _take(values: np.ndarray, idx: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Dictionary-decode ``idx`` into strings (null where ``missing``)."""
    dictionary = pa.array(values.tolist() or [""], type=pa.string())
    indices = pa.array(idx.astype(np.int32), type=pa.int32(), mask=missing)
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())


def _case_ids(first_unit: np.ndarray, t_submit: np.ndarray, units: np.ndarray) -> np.ndarray:
    """``<receiving unit>-<YYMMDD>-<daily sequence>`` (Circular 01/2018 shape)."""
    day = t_submit // 86_400
    order = np.lexsort((np.arange(len(day)), day, first_unit))
    key = first_unit[order].astype(np.int64) * 1_000_000 + day[order]
    starts = np.r_[True, key[1:] != key[:-1]]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(key)), 0))
    seq = np.empty(len(day), np.int64)
    seq[order] = np.arange(len(key)) - group_start + 1
    dates = np.datetime_as_string(day.astype("datetime64[D]"), unit="D").tolist()
    names = units[first_unit].tolist()
    return np.array(
        [
            f"{u}-{d[2:4]}{d[5:7]}{d[8:10]}-{s:04d}"
            for u, d, s in zip(names, dates, seq.tolist(), strict=True)
        ],
        dtype=object,
    )


def build_table(
    buf: EventBuffer,
    dossiers: Dossiers,
    procedure_codes: list[str],
    communes: list[str],
    cutoff: int,
) -> pa.Table:
    """Sorted (dossier, time) wire-format table of every event before ``cutoff``."""
    c = buf.columns()
    attrs = buf.attribute_column()
    keep = c["t"] < cutoff
    order = np.lexsort((c["seq"], c["t"], c["case"]))
    order = order[keep[order]]
    case = c["case"][order]
    t = c["t"][order]
    units = buf.units.values

    # The first event of each dossier is its submission: the receiving unit names the case.
    first_unit = np.zeros(len(dossiers), np.int32)
    first = np.r_[True, case[1:] != case[:-1]]
    first_unit[case[first]] = c["unit"][order][first]
    case_ids = _case_ids(first_unit, dossiers.t_submit, units)
    position = np.arange(len(case)) - np.maximum.accumulate(
        np.where(first, np.arange(len(case)), 0)
    )
    case_col = pa.array(case_ids[case], type=pa.string())
    event_id = pc.binary_join_element_wise(case_col, pa.array(position + 1).cast(pa.string()), "-")
    province_codes = np.array([p.code for p in PROVINCES], dtype=object)
    outcome_idx = c["outcome"][order].astype(np.int32)
    resource_idx = c["resource"][order]
    columns = {
        "event_id": event_id,
        "case_id": case_col,
        "procedure_code": _take(np.array(procedure_codes, object), dossiers.proc[case]),
        "activity": _take(buf.activities.values, c["activity"][order].astype(np.int32)),
        "timestamp": pa.array((t - UTC_SHIFT) * 1_000_000, type=pa.timestamp("us", tz=OFFSET)),
        "lifecycle": _take(np.array(LIFECYCLES, object), c["lifecycle"][order].astype(np.int32)),
        "org_unit": _take(units, c["unit"][order]),
        "province_code": _take(province_codes, dossiers.province[case]),
        "commune_code": _take(np.array(communes, object), dossiers.commune[case]),
        "channel": _take(np.array(CHANNELS, object), c["channel"][order].astype(np.int32)),
        "actor_role": _take(np.array(ACTORS, object), c["actor"][order].astype(np.int32)),
        "resource": _take(buf.resources.values, np.maximum(resource_idx, 0), resource_idx < 0),
        "applicant_id": pa.array(dossiers.applicant[case], type=pa.string()),
        "outcome": _take(np.array(OUTCOMES, object), outcome_idx, outcome_idx == 0),
        "attributes": pa.array(attrs[c["seq"][order]], type=pa.string()),
    }
    return pa.table(columns)


def iso_timestamps(table: pa.Table) -> pa.Array:
    """``2025-07-01T08:15:00+07:00`` strings of the table's timestamps."""
    local = table.column("timestamp").cast(pa.int64()).to_numpy() // 1_000_000 + UTC_SHIFT
    text = np.datetime_as_string(local.astype("datetime64[s]"), unit="s")
    return pc.binary_join_element_wise(pa.array(text), OFFSET, "")


def write_outputs(table: pa.Table, out: Path, *, gzip_csv: bool = False) -> dict[str, Path]:
    """``events.parquet`` and ``events.csv`` (``events.csv.gz`` when ``gzip_csv``)."""
    out.mkdir(parents=True, exist_ok=True)
    parquet = out / "events.parquet"
    pq.write_table(table, parquet, compression="zstd")
    as_text = table.set_column(
        table.schema.get_field_index("timestamp"), "timestamp", iso_timestamps(table)
    )
    if gzip_csv:
        csv = out / "events.csv.gz"
        with pa.CompressedOutputStream(str(csv), "gzip") as sink:
            pacsv.write_csv(as_text, sink)
    else:
        csv = out / "events.csv"
        pacsv.write_csv(as_text, csv)
    return {"parquet": parquet, "csv": csv}
