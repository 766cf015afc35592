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

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
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
    attribute_array,
    attribute_column,
    iso_utc,
    json_members,
    json_object,
    json_objects,
    parse_timestamps,
)
from ingest.schema import PROCEDURE_CODE, Event

WIRE_FIELDS: tuple[str, ...] = tuple(Event.model_fields)
TEXT_FIELDS = tuple(f for f in WIRE_FIELDS if f not in ("timestamp", "attributes"))

# Source names recognised without --map, best first; matched exactly, then ignoring case
# and punctuation (so CaseID, Case ID and case-id are all case_id). The first two of each
# are pm4py's and dvcflow's own names; the others are common spellings of exports, taken
# only when one column alone matches them (the report names the columns taken).
KNOWN_NAMES: dict[str, tuple[str, ...]] = {
    "case_id": ("case:concept:name", "case_id", "case", "dossier_id", "trace_id"),
    "activity": ("concept:name", "activity", "activity_id", "activity_name", "task"),
    "timestamp": (
        "time:timestamp", "timestamp", "complete_timestamp", "end_timestamp",
        "end_time", "completion_time", "datetime",
    ),
    "resource": ("org:resource", "resource", "performer"),
    "lifecycle": ("lifecycle:transition", "lifecycle"),
}  # fmt: skip
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
    # set when ``attributes`` is JSON text (built column-wise): the key count of each row
    attribute_counts: np.ndarray | None = None

    def attribute_values(self) -> list[Any]:
        """The ``attributes`` column as dicts (None when empty), however it is held."""
        values = self.frame["attributes"].tolist()
        if self.attribute_counts is None:
            return values
        return [None if v is None else orjson.loads(v) for v in values]


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


def resolve_columns(
    columns: list[str],
    mapping: Mapping[str, str],
    path: Path,
    notes: list[str] | None = None,
    order_as_time: bool = False,
) -> dict[str, str]:
    """Which source column feeds which wire field (``{field: column}``); a column taken by
    a spelling other than pm4py's or ours is named in ``notes``."""
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
    guessed = []
    for name in WIRE_FIELDS:
        if name in chosen:
            continue
        candidates = KNOWN_NAMES.get(name, (name,))
        hit = _best(candidates[:2], columns, by_norm, taken)
        if hit is not None and hit not in candidates:
            guessed.append(f"{hit!r} as {name}")
        if hit is None and len(candidates) > 2:
            hits = {h for c in candidates[2:] if (h := _best((c,), columns, by_norm, taken))}
            if len(hits) > 1:
                raise InputFileError(
                    f"{path}: columns {', '.join(map(repr, sorted(hits)))} could each be the "
                    f"{name}; pass --map COLUMN={name} to choose one."
                )
            hit = next(iter(hits), None)
            if hit is not None:
                guessed.append(f"{hit!r} as {name}")
        if hit is not None:
            chosen[name] = hit
            taken.add(hit)
    for required, hint in (
        ("case_id", "case id"),
        ("activity", "activity"),
        ("timestamp", "timestamp"),
    ):
        if required not in chosen and not (required == "timestamp" and order_as_time):
            known = ", ".join(KNOWN_NAMES[required][:3])
            untimed = (
                "; a log without any times imports with --order-as-time (each event's time "
                "from its position in the file; durations then mean nothing)"
                if required == "timestamp"
                else ""
            )
            raise InputFileError(
                f"{path}: no {hint} column (looked for {known} ...); pass --map "
                f"COLUMN={required} (columns: {', '.join(columns)}){untimed}."
            )
    if guessed and notes is not None:
        notes.append(f"took column {', '.join(guessed)} by name; --map COLUMN=FIELD to choose")
    return chosen


def _best(
    candidates: tuple[str, ...], columns: list[str], by_norm: dict[str, str], taken: set[str]
) -> str | None:
    """The first candidate present exactly, else ignoring case and punctuation."""
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
    return hit


# --- fill-ins ----------------------------------------------------------------------------
def code_from_stem(path: Path) -> str:
    code = re.sub(r"[^0-9A-Za-z._\-]", "_", base_name(path)).lstrip("._-")[:64]
    if not code or not PROCEDURE_CODE.match(code):
        raise InputFileError(
            f"{path}: cannot make a code from the file name; pass --procedure and --org-unit."
        )
    return code


def derive_event_ids(
    procedure_code: pa.Array,
    case_id: pa.Array,
    activity: pa.Array,
    timestamp: pd.Series,
    raw_lifecycle: pa.Array,
) -> pa.Array:
    """A stable id per event: its procedure, case, position in the case and content."""
    codes = pc.dictionary_encode(case_id, null_encoding="encode").indices.to_numpy()
    position = pd.Series(codes).groupby(codes, sort=False).cumcount().to_numpy()
    parts = [
        procedure_code,
        case_id,
        pc.cast(pa.array(position), pa.string()),
        activity,
        iso_utc(timestamp),
        raw_lifecycle,
    ]
    parts = [pc.fill_null(p, "") for p in parts]
    keys = pc.binary_join_element_wise(*parts, "\x1f").cast(pa.binary()).to_pylist()
    # hashlib in a loop beats DuckDB's sha256 here: no connection to open (0.7 s)
    sha = hashlib.sha256
    return pa.array([f"imp-{sha(k).hexdigest()[:32]}" for k in keys], pa.string())


def _fill(
    values: pa.Array, name: str, given: str | None, default: str, option: str, filled: dict
) -> pa.Array:
    value = given or default
    source = f"{option} {value}" if given else f"the file's stem; pass {option} to choose"
    count = values.null_count
    if not count:
        return values
    filled[name] = f"{value!r} in {count} row(s) ({source})"
    return pc.fill_null(values, value)


def _text_column(src: SourceFrame, column: str) -> pa.Array:
    values = src.array(column)
    if values is not None and pa.types.is_string(values.type):
        return values
    return pa.array(as_text(src.series(column)), pa.string())


def _arrow_series(values: pa.Array) -> pd.Series:
    return pd.Series(pd.arrays.ArrowExtensionArray(values))


# --order-as-time: the attribute that flags a time made from the position in the file, and
# the first such time
TIME_FROM_ORDER = "time_from_order"
ORDER_EPOCH = pd.Timestamp("2000-01-01", tz="UTC")

# What Python's str.strip() removes: pydantic's set and the separators \x1c-\x1f
PY_WHITESPACE = WHITESPACE + "\x1c\x1d\x1e\x1f"


def to_wire(
    src: SourceFrame, path: Path, options: ImportOptions, timezone: str | None
) -> WireFrame:
    """Map a source table to wire-format columns and fill what is missing.

    Column by column on Arrow arrays: text fields stay Arrow strings and the attributes
    become JSON text in one pass per column (``attributes_json``); only columns of mixed
    values, or a source ``attributes`` column, go row by row as dicts.
    """
    columns = src.columns
    notes = list(src.notes)
    chosen = resolve_columns(columns, options.mapping, path, notes, options.order_as_time)
    n = src.num_rows
    if "timestamp" not in chosen:  # --order-as-time
        src.add_column(TIME_FROM_ORDER, pa.array(np.ones(n, dtype=bool)))
        columns = src.columns
        notes.append(
            f"the file has no times: --order-as-time gave the {n} events times one second "
            f"apart in file order from {ORDER_EPOCH:%Y-%m-%d} (attribute {TIME_FROM_ORDER}); "
            "orders, paths and variants are right, durations mean nothing"
        )

    text: dict[str, pa.Array] = {
        name: _text_column(src, chosen[name]) if name in chosen else pa.nulls(n, pa.string())
        for name in TEXT_FIELDS
    }
    raw_lifecycle = text["lifecycle"]
    extra_lifecycle: pa.Array | None = None
    if "lifecycle" in chosen:
        low = pc.utf8_lower(pc.utf8_trim(raw_lifecycle, characters=PY_WHITESPACE))
        known = pc.fill_null(pc.is_in(low, pa.array(["start", "complete"])), False)
        text["lifecycle"] = pc.if_else(known, low, None)
        extra = pc.if_else(known, None, raw_lifecycle)
        extra_lifecycle = extra if extra.null_count < n else None

    if "timestamp" in chosen:
        stamps, bad_times = parse_timestamps(src.series(chosen["timestamp"]), timezone)
    else:
        stamps, bad_times = pd.Series(ORDER_EPOCH + pd.to_timedelta(np.arange(n), "s")), {}
    stamps = stamps.reset_index(drop=True)
    naive = sum(1 for reason in bad_times.values() if reason.startswith("naive"))
    if naive:
        notes.append(
            f"{naive} of {n} event(s) have times without a UTC offset, so the file does not "
            f"say when they happened: pass --timezone with the zone it was written in "
            f"(--timezone UTC, as pm4py reads them, or e.g. --timezone Asia/Ho_Chi_Minh)"
        )

    attr_columns = [
        c
        for c in columns
        if c not in chosen.values() and options.mapping.get(c) != IGNORE and c != "attributes"
    ]
    # trace-level attributes (pm4py's ``case:`` prefix): once per dossier, not per event
    case_columns = [c for c in attr_columns if c.startswith(CASE_PREFIX)]
    attr_columns = [c for c in attr_columns if not c.startswith(CASE_PREFIX)]
    keyed = [*attr_columns, *([chosen["lifecycle"]] if extra_lifecycle is not None else [])]
    keys = [k.strip(WHITESPACE) for k in keyed]
    base: list[Any] | None = None
    if "attributes" in chosen:
        base = [json_object(v) for v in src.series(chosen["attributes"]).tolist()]
    elif "attributes" in columns:
        base = src.series("attributes").tolist()
    if base is not None and all(b is None for b in base):
        base = None
    counts = None
    attributes: Any = None
    if base is None and len(set(keys)) == len(keys):
        members = _json_members(src, attr_columns, keys, extra_lifecycle)
        if members is not None:
            attributes, counts = json_objects(members, n)
            attributes = _arrow_series(attributes)
    if attributes is None:
        attributes = pd.Series(
            attribute_dicts(src, attr_columns, keys, extra_lifecycle, base, n), dtype=object
        )
    if keys:
        notes.append(
            f"kept {len(keys)} column(s) as attributes: {', '.join(keys[:12])}"
            + (" ..." if len(keys) > 12 else "")
        )

    filled: dict[str, str] = {}
    stem_code = None
    if text["procedure_code"].null_count and not options.procedure:
        stem_code = code_from_stem(path)
    text["procedure_code"] = _fill(
        text["procedure_code"], "procedure_code", options.procedure, stem_code or "",
        "--procedure", filled,
    )  # fmt: skip
    if text["org_unit"].null_count and not options.org_unit:
        stem_code = stem_code or code_from_stem(path)
    text["org_unit"] = _fill(
        text["org_unit"], "org_unit", options.org_unit, stem_code or "", "--org-unit", filled
    )

    missing_ids = text["event_id"].null_count
    if missing_ids:
        derived = derive_event_ids(
            text["procedure_code"], text["case_id"], text["activity"], stamps, raw_lifecycle
        )
        text["event_id"] = pc.if_else(pc.is_null(text["event_id"]), derived, text["event_id"])
        filled["event_id"] = f"derived from content and position in case in {missing_ids} row(s)"

    case_table = None
    if case_columns:
        case_table = _case_attributes(src, case_columns, text["case_id"], text["procedure_code"])
        notes.append(
            f"kept {len(case_columns)} trace attribute(s) once per dossier "
            f"({len(case_table)} dossiers) in the case-attribute table"
        )
    frame = pd.DataFrame(
        {
            name: stamps if name == "timestamp"
            else attributes if name == "attributes"
            else _arrow_series(text[name])
            for name in WIRE_FIELDS
        }
    )  # fmt: skip
    bad = {i: ("timestamp", reason) for i, reason in bad_times.items()}
    return WireFrame(
        frame=frame,
        label=src.label,
        bad=bad,
        filled=filled,
        notes=notes,
        clean_attributes=base is None,
        case_attributes=case_table,
        attribute_counts=counts,
    )


def _json_members(
    src: SourceFrame, columns: list[str], keys: list[str], extra_lifecycle: pa.Array | None
) -> list[pa.Array] | None:
    """Per attribute column, its ``"key":value`` JSON text per row; None when a column
    holds values of mixed types (then the dicts are built row by row)."""
    members = []
    for column, key in zip(columns, keys, strict=False):
        values = src.array(column)
        values = attribute_array(values, src.text_cells) if values is not None else None
        if values is None:
            return None
        members.append(json_members(key, values))
    if extra_lifecycle is not None:
        members.append(json_members(keys[-1], extra_lifecycle))
    return members


def attribute_dicts(
    src: SourceFrame,
    columns: list[str],
    keys: list[str],
    extra_lifecycle: pa.Array | None,
    base: list[Any] | None,
    n: int,
) -> list[Any]:
    """The attributes as one dict per row (None when empty), merged over a source
    ``attributes`` column: the row-by-row path."""
    keyed = [attribute_column(src.series(c), src.text_cells) for c in columns]
    if extra_lifecycle is not None:
        keyed.append(extra_lifecycle.to_pylist())
    extras: list[Any] = [None] * n
    for key, values in zip(keys, keyed, strict=True):
        for i in [i for i, v in enumerate(values) if v is not None]:
            row = extras[i]
            if row is None:
                extras[i] = {key: values[i]}
            else:
                row[key] = values[i]
    if base is None:
        return extras
    attrs: list[Any] = []
    for start, extra in zip(base, extras, strict=True):
        if isinstance(start, dict):
            attrs.append({**start, **(extra or {})} or None)
        elif start is not None and not extra:
            attrs.append(start)  # not an object: the contract check names it
        else:
            attrs.append(extra)
    return attrs


def _case_attributes(
    src: SourceFrame, columns: list[str], case_id: pa.Array, procedure_code: pa.Array
) -> pd.DataFrame:
    """One row per dossier: procedure_code, case_id and its trace attributes as JSON text
    (first value given in the dossier; the ``case:`` prefix dropped)."""
    values = pd.DataFrame(
        {
            c.removeprefix(CASE_PREFIX): attribute_column(src.series(c), src.text_cells)
            for c in columns
        }
    )
    values["case_id"] = case_id.to_numpy(zero_copy_only=False)
    values["procedure_code"] = procedure_code.to_numpy(zero_copy_only=False)
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
