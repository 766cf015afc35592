"""From a file's columns to wire-format columns: which column is which field, and the fill-ins.

pm4py's standard names (``case:concept:name``, ``concept:name``, ``time:timestamp``,
``org:resource``, ``lifecycle:transition``) and our own wire names are recognised without a
mapping; ``--map COLUMN=FIELD`` says the rest. Columns that are no field become
``attributes``, except trace attributes (``case:*``), which are kept once per dossier in the
case-attribute table. Missing ``procedure_code`` / ``org_unit`` come from the options (default: the
file's stem) and a missing ``event_id`` is derived from the event's content and its position
in its case, so the same file always gives the same ids. Every fill-in is reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dvcflow.errors import DvcflowError, InputFileError
from ingest.importers.contract import WHITESPACE
from ingest.importers.options import ImportOptions
from ingest.importers.source import SourceFrame, base_name
from ingest.importers.values import (
    as_text,
    attribute_column,
    iso_utc,
    json_object,
    parse_timestamps,
)
from ingest.schema import PROCEDURE_CODE, Event

WIRE_FIELDS: tuple[str, ...] = tuple(Event.model_fields)
TEXT_FIELDS = tuple(f for f in WIRE_FIELDS if f not in ("timestamp", "attributes"))

# Source names recognised without --map, best first; matched exactly, then ignoring case
# and punctuation.
KNOWN_NAMES: dict[str, tuple[str, ...]] = {
    "case_id": ("case:concept:name", "case_id", "caseid"),
    "activity": ("concept:name", "activity"),
    "timestamp": ("time:timestamp", "timestamp"),
    "resource": ("org:resource", "resource"),
    "lifecycle": ("lifecycle:transition", "lifecycle"),
}
PM4PY_FIELDS = {names[0]: f for f, names in KNOWN_NAMES.items()}
CASE_PREFIX = "case:"  # pm4py's (and XES exports') name prefix of trace attributes
IGNORE = "ignore"


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


@dataclass
class WireFrame:
    """Wire-format columns (``WIRE_FIELDS``) in file order, with the rows that failed early."""

    frame: pd.DataFrame
    label: Any  # Callable[[int], str]
    bad: dict[int, tuple[str, str]] = field(default_factory=dict)  # row -> (field, reason)
    filled: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    clean_attributes: bool = False  # attributes built here: text keys, stripped scalars
    case_attributes: pd.DataFrame | None = None  # procedure_code, case_id, attributes (JSON)


def parse_map(items: list[str] | None) -> dict[str, str]:
    """``["CaseID=case_id", ...]`` -> ``{"CaseID": "case_id"}``; names the bad item."""
    out: dict[str, str] = {}
    for item in items or []:
        column, eq, target = item.rpartition("=")
        if not eq or not column or not target:
            raise DvcflowError(f"--map {item!r}: write COLUMN=FIELD, e.g. --map CaseID=case_id.")
        target = PM4PY_FIELDS.get(target.strip(), target.strip())
        if target not in WIRE_FIELDS and target != IGNORE:
            raise DvcflowError(
                f"--map {item!r}: {target!r} is not a field; use one of "
                f"{', '.join(WIRE_FIELDS)} or {IGNORE!r}."
            )
        out[column] = target
    return out


def resolve_columns(columns: list[str], mapping: Mapping[str, str], path: Path) -> dict[str, str]:
    """Which source column feeds which wire field (``{field: column}``)."""
    for column in mapping:
        if column not in columns:
            raise InputFileError(
                f"{path}: column {column!r} given in --map is not in the file "
                f"(columns: {', '.join(columns)})."
            )
    chosen = {target: column for column, target in mapping.items() if target != IGNORE}
    taken = set(mapping)
    by_norm: dict[str, str] = {}
    for column in columns:
        by_norm.setdefault(_norm(column), column)
    for name in WIRE_FIELDS:
        if name in chosen:
            continue
        candidates = KNOWN_NAMES.get(name, (name,))
        hit = next((c for c in candidates if c in columns and c not in taken), None)
        if hit is None:
            hit = next(
                (
                    by_norm[_norm(c)]
                    for c in candidates
                    if by_norm.get(_norm(c)) and by_norm[_norm(c)] not in taken
                ),
                None,
            )
        if hit is not None:
            chosen[name] = hit
            taken.add(hit)
    for required, hint in (
        ("case_id", "case id"),
        ("activity", "activity"),
        ("timestamp", "timestamp"),
    ):
        if required not in chosen:
            raise InputFileError(
                f"{path}: no {hint} column; pass --map COLUMN={required} "
                f"(columns: {', '.join(columns)})."
            )
    return chosen


# --- fill-ins ----------------------------------------------------------------------------
def code_from_stem(path: Path) -> str:
    code = re.sub(r"[^0-9A-Za-z._\-]", "_", base_name(path)).lstrip("._-")[:64]
    if not code or not PROCEDURE_CODE.match(code):
        raise InputFileError(
            f"{path}: cannot make a code from the file name; pass --procedure and --org-unit."
        )
    return code


def derive_event_ids(frame: pd.DataFrame, raw_lifecycle: list[Any]) -> list[str]:
    """A stable id per event: its procedure, case, position in the case and content."""
    position = frame.groupby("case_id", sort=False, dropna=False).cumcount()
    parts = [
        pa.array(frame["procedure_code"], type=pa.string(), from_pandas=True),
        pa.array(frame["case_id"], type=pa.string(), from_pandas=True),
        pa.array(position.astype(str), type=pa.string()),
        pa.array(frame["activity"], type=pa.string(), from_pandas=True),
        pa.array(iso_utc(frame["timestamp"]), type=pa.string()),
        pa.array([None if v is None else str(v) for v in raw_lifecycle], type=pa.string()),
    ]
    parts = [pc.fill_null(p, "") for p in parts]
    keys = pa.table({"k": pc.binary_join_element_wise(*parts, "\x1f")})
    # DuckDB's sha256 over the whole column: the same hex digest as hashlib, no Python loop
    con = duckdb.connect()
    try:
        con.register("keys", keys)
        ids = con.sql("SELECT 'imp-' || sha256(k)[:32] AS id FROM keys").to_arrow_table()
    finally:
        con.close()
    return ids["id"].to_pylist()


def _fill(
    frame: pd.DataFrame, name: str, given: str | None, default: str, option: str, filled: dict
) -> None:
    value = given or default
    source = f"{option} {value}" if given else f"the file's stem; pass {option} to choose"
    missing = frame[name].isna()
    count = int(missing.sum())
    if count:
        frame.loc[missing, name] = value
        filled[name] = f"{value!r} in {count} row(s) ({source})"


def to_wire(
    src: SourceFrame, path: Path, options: ImportOptions, timezone: str | None
) -> WireFrame:
    """Map a source table to wire-format columns and fill what is missing."""
    columns = [str(c) for c in src.frame.columns]
    source = src.frame.set_axis(columns, axis=1).reset_index(drop=True)
    chosen = resolve_columns(columns, options.mapping, path)
    n = len(source)
    frame = pd.DataFrame(index=pd.RangeIndex(n))
    notes = list(src.notes)

    for name in TEXT_FIELDS:
        values = as_text(source[chosen[name]]) if name in chosen else [None] * n
        frame[name] = pd.Series(values, dtype=object)

    raw_lifecycle = list(frame["lifecycle"])
    extra_lifecycle: list[Any] = [None] * n
    if "lifecycle" in chosen:
        raw = frame["lifecycle"]
        low = raw.str.strip().str.lower()
        known = low.isin(["start", "complete"]).to_numpy()
        frame["lifecycle"] = low.where(known, None).astype(object)
        extra_lifecycle = raw.where(~known & raw.notna().to_numpy(), None).tolist()

    stamps, bad_times = parse_timestamps(source[chosen["timestamp"]], timezone)
    frame["timestamp"] = stamps.reset_index(drop=True)

    attr_columns = [
        c
        for c in columns
        if c not in chosen.values() and options.mapping.get(c) != IGNORE and c != "attributes"
    ]
    # trace-level attributes (pm4py's ``case:`` prefix): once per dossier, not per event
    case_columns = [c for c in attr_columns if c.startswith(CASE_PREFIX)]
    attr_columns = [c for c in attr_columns if not c.startswith(CASE_PREFIX)]
    base = (
        source["attributes"].tolist()
        if "attributes" in columns and "attributes" not in chosen
        else [None] * n
    )
    if "attributes" in chosen:
        base = [json_object(v) for v in source[chosen["attributes"]].tolist()]
    keyed = [(c, attribute_column(source[c], src.text_cells)) for c in attr_columns]
    if any(v is not None for v in extra_lifecycle):
        keyed.append((chosen["lifecycle"], extra_lifecycle))
    keys = [k.strip(WHITESPACE) for k, _ in keyed]
    extras: list[Any] = [None] * n
    for key, (_, values) in zip(keys, keyed, strict=True):
        for i in [i for i, v in enumerate(values) if v is not None]:
            row = extras[i]
            if row is None:
                extras[i] = {key: values[i]}
            else:
                row[key] = values[i]
    attrs: list[Any] = extras
    if any(b is not None for b in base):
        attrs = []
        for start, extra in zip(base, extras, strict=True):
            if isinstance(start, dict):
                attrs.append({**start, **(extra or {})} or None)
            elif start is not None and not extra:
                attrs.append(start)  # not an object: the contract check names it
            else:
                attrs.append(extra)
    frame["attributes"] = pd.Series(attrs, dtype=object)
    if keys:
        notes.append(
            f"kept {len(keys)} column(s) as attributes: {', '.join(keys[:12])}"
            + (" ..." if len(keys) > 12 else "")
        )

    filled: dict[str, str] = {}
    stem_code = None
    if frame["procedure_code"].isna().any() and not options.procedure:
        stem_code = code_from_stem(path)
    _fill(frame, "procedure_code", options.procedure, stem_code or "", "--procedure", filled)
    if frame["org_unit"].isna().any() and not options.org_unit:
        stem_code = stem_code or code_from_stem(path)
    _fill(frame, "org_unit", options.org_unit, stem_code or "", "--org-unit", filled)

    missing_ids = frame["event_id"].isna()
    if missing_ids.any():
        derived = pd.Series(derive_event_ids(frame, raw_lifecycle), dtype=object)
        frame["event_id"] = frame["event_id"].where(~missing_ids, derived)
        filled["event_id"] = (
            f"derived from content and position in case in {int(missing_ids.sum())} row(s)"
        )

    case_table = None
    if case_columns:
        case_table = _case_attributes(source, case_columns, frame, src.text_cells)
        notes.append(
            f"kept {len(case_columns)} trace attribute(s) once per dossier "
            f"({len(case_table)} dossiers) in the case-attribute table"
        )
    bad = {i: ("timestamp", reason) for i, reason in bad_times.items()}
    clean = all(b is None for b in base)
    return WireFrame(
        frame=frame[list(WIRE_FIELDS)],
        label=src.label,
        bad=bad,
        filled=filled,
        notes=notes,
        clean_attributes=clean,
        case_attributes=case_table,
    )


def _case_attributes(
    source: pd.DataFrame, columns: list[str], frame: pd.DataFrame, text_cells: bool
) -> pd.DataFrame:
    """One row per dossier: procedure_code, case_id and its trace attributes as JSON text
    (first value given in the dossier; the ``case:`` prefix dropped)."""
    values = pd.DataFrame(
        {c.removeprefix(CASE_PREFIX): attribute_column(source[c], text_cells) for c in columns}
    )
    values["case_id"] = frame["case_id"].to_numpy()
    values["procedure_code"] = frame["procedure_code"].to_numpy()
    first = values.groupby("case_id", sort=False, dropna=True).first()
    keys = [c.removeprefix(CASE_PREFIX).strip(WHITESPACE) for c in columns]
    rows = first[[c.removeprefix(CASE_PREFIX) for c in columns]].to_numpy(dtype=object).tolist()
    blobs = []
    for row in rows:
        kept = {k: v for k, v in zip(keys, row, strict=True) if v is not None and v == v}
        blobs.append(orjson.dumps(kept).decode() if kept else None)
    return pd.DataFrame(
        {
            "procedure_code": first["procedure_code"].to_numpy(),
            "case_id": first.index.to_numpy(),
            "attributes": blobs,
        }
    )
