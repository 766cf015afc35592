"""The contract's column checks on a batch of plain wire objects (the sink's fast path).

Plain means a JSON object with only wire fields, as ``orjson`` decoded it. Each field is
checked for the whole batch at once with ``ingest.importers.contract``'s helpers: the text
fields come out of the dicts in one Arrow struct conversion (field by field, when a value
is not text), and ``attributes`` are written by one ``orjson`` call. Only the decision is
needed here: ``ingest.batch`` sends every row this rejects through ``parse_event``, which
names why.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import itemgetter

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from dvcflow.settings import Settings
from ingest.importers.contract import (
    ENUM_RULES,
    FIELD_ORDER,
    TEXT_RULES,
    WHITESPACE,
    Errors,
    add_errors,
    check_attributes,
    check_text,
    enum_reason,
    pseudonymise,
    timestamp_values,
)
from ingest.pseudonym import Pseudonymizer
from ingest.schema import STORE_SCHEMA

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_STRING = pa.string()
_UTC_US = pa.timestamp("us", tz="UTC")


def check_plain(
    rows: list[dict], pseudonymizer: Pseudonymizer, settings: Settings, ingested_at: datetime
) -> tuple[pa.Table, Errors] | None:
    """The contract's column checks on wire dicts; the rows it rejects, by position.

    Only the decision matters here: a rejected row is parsed again by ``parse_event``
    (which names why; e.g. an explicit null for a defaulted enum).
    """
    n = len(rows)
    errors: Errors = {}
    caps: dict[int, str] = {}
    out: dict[str, pa.Array] = {}
    present = set().union(*rows)
    try:
        texts = dict(zip(_TEXT_FIELDS, pa.array(rows, _TEXT_ROW).flatten(), strict=True))
    except (TypeError, ValueError):  # a value that is not text (Arrow says which): by field
        texts = {}
    try:
        for field in FIELD_ORDER:
            if field in texts:
                values: list | pa.Array = texts[field]
            else:
                values = _column(rows, field) if field in present else [None] * n
            if field in TEXT_RULES:
                out[field] = _text(values, field, errors)
            elif field in ENUM_RULES:
                out[field] = _enum(values, field, errors)
                if ENUM_RULES[field][1] is not None and field in present:
                    nulls = _nulls(values)
                    explicit = [j for j in nulls if field in rows[j]]
                    add_errors(errors, np.array(explicit, dtype=np.int64), field, "null")
            elif field == "timestamp":
                out[field] = timestamp_values(values, errors)
                _outside_window(out[field], settings, errors)
            else:
                out[field] = _attributes(
                    values, errors, caps, settings.max_attributes, settings.max_attributes_bytes
                )
    except (ValueError, OverflowError, orjson.JSONEncodeError, pa.ArrowException):
        return None
    for i, reason in caps.items():
        errors.setdefault(i, [{"field": "attributes", "reason": reason}])
    kept = n - len(errors)
    if errors:
        keep = np.ones(n, dtype=bool)
        keep[list(errors)] = False
        mask = pa.array(keep)
        out = {name: array.filter(mask) for name, array in out.items()}
    stamp = np.full(kept, (ingested_at - _EPOCH) // _MICROSECOND, dtype=np.int64)
    arrays = []
    for f in STORE_SCHEMA:
        if f.name == "applicant_ref":
            arrays.append(pseudonymise(out["applicant_id"], pseudonymizer))
        elif f.name == "ingested_at":
            arrays.append(pa.array(stamp).cast(_UTC_US))
        elif f.name == "source":
            arrays.append(pa.nulls(kept, _STRING))
        elif f.name == "source_order":  # the sink sets it from the offsets
            arrays.append(pa.nulls(kept, pa.int64()))
        else:
            arrays.append(out[f.name])
    return pa.Table.from_arrays(arrays, schema=STORE_SCHEMA), errors


def _outside_window(stamps: pa.Array, settings: Settings, errors: Errors) -> None:
    """Times outside ``settings.timestamp_window()`` (``parse_event`` then names the rule)."""
    low, high = settings.timestamp_window()
    outside = pc.or_(
        pc.less(stamps, pa.scalar(low, _UTC_US)), pc.greater(stamps, pa.scalar(high, _UTC_US))
    )
    add_errors(
        errors,
        np.flatnonzero(pc.fill_null(outside, False).to_numpy(zero_copy_only=False)),
        "timestamp",
        "outside the window",
    )


_TEXT_FIELDS = tuple(f for f in FIELD_ORDER if f != "attributes")
_TEXT_ROW = pa.struct([(f, _STRING) for f in _TEXT_FIELDS])  # absent keys become null


def _nulls(values: list | pa.Array) -> list[int]:
    if isinstance(values, pa.Array):
        return np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False)).tolist()
    return [j for j, v in enumerate(values) if v is None]


def _column(rows: list[dict], field: str) -> list:
    """One field of every row (None where absent); a C loop when every row has it."""
    try:
        return list(map(itemgetter(field), rows))
    except KeyError:
        return [r.get(field) for r in rows]


def _strings(values: list | pa.Array, field: str, errors: Errors) -> pa.Array | None:
    """The column as Arrow text; a value of another JSON type is an error (then null)."""
    if isinstance(values, pa.Array):
        return values
    try:
        return pa.array(values, _STRING)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    wrong = [i for i, v in enumerate(values) if v is not None and type(v) is not str]
    add_errors(errors, np.array(wrong, dtype=np.int64), field, "Input should be a valid string")
    return None


def _text(values: list | pa.Array, field: str, errors: Errors) -> pa.Array:
    text = _strings(values, field, errors)
    if text is not None:
        return check_text(text, field, errors)
    if TEXT_RULES[field][2]:
        missing = [i for i, v in enumerate(values) if v is None]
        add_errors(errors, np.array(missing, dtype=np.int64), field, "Field required")
    text = pa.array([v if type(v) is str else None for v in values], _STRING)
    return check_text(text, field, errors, check_missing=False)


def _enum(values: list | pa.Array, field: str, errors: Errors) -> pa.Array:
    allowed, default = ENUM_RULES[field]
    text = _strings(values, field, errors)
    if text is None:
        text = pa.array([v if type(v) is str else None for v in values], _STRING)
    outside = pc.invert(pc.is_in(text, pa.array(allowed, _STRING), skip_nulls=True))
    bad = np.flatnonzero(pc.and_kleene(outside, pc.is_valid(text)).to_numpy(zero_copy_only=False))
    add_errors(errors, bad, field, enum_reason(allowed))
    return pc.fill_null(text, default) if default is not None else text


def _attributes(
    values: list, errors: Errors, caps: dict[int, str], max_keys: int, max_bytes: int
) -> pa.Array:
    """JSON text per row, as ``contract._attributes`` makes it.

    The usual column (objects of scalars, nothing to strip) is written by one
    ``orjson.dumps`` of the whole column: one call per object costs 10x more.
    """
    kinds = set(map(type, values))
    if not kinds <= _OBJECT_OR_NULL:
        return _attributes_rows(values, errors, caps, max_keys, max_bytes)
    objects = [v if v is not None else _NO_OBJECT for v in values] if _NONE in kinds else values
    items = set(map(type, chain.from_iterable(map(dict.values, objects))))
    if not items <= _SCALAR_OR_TEXT:
        return _attributes_rows(values, errors, caps, max_keys, max_bytes)
    n = len(objects)
    column: list = [_SEPARATOR] * (2 * n - 1)
    column[::2] = objects
    blob = orjson.dumps(column)  # [obj,\n,obj,...]: no raw newline inside orjson output
    if _padded(blob):  # a key or text value that pydantic would strip
        return _attributes_rows(values, errors, caps, max_keys, max_bytes)
    text = pc.split_pattern(pa.array([blob[1:-1]], _STRING), ",\n,").flatten()
    keys = np.fromiter(map(len, objects), dtype=np.int64, count=n)
    sizes = pc.binary_length(text).to_numpy()
    for i in np.flatnonzero(keys > max_keys).tolist():
        caps[i] = f"more than {max_keys} keys"
    for i in np.flatnonzero((sizes > max_bytes) & (keys > 0) & (keys <= max_keys)).tolist():
        caps[i] = f"{sizes[i]} bytes as JSON, above the cap of {max_bytes}"
    return pc.if_else(pa.array(keys > 0), text, pa.scalar(None, _STRING))


_NONE = type(None)
_OBJECT_OR_NULL = frozenset({dict, _NONE})
_SCALAR_OR_TEXT = frozenset({str, int, float, bool, _NONE})
_NO_OBJECT: dict = {}
_SEPARATOR = orjson.Fragment(b"\n")
# orjson's spelling of each whitespace character, right after an opening quote or (in the
# reversed text) right before a closing one; an escaped quote may match too, then the
# row-by-row path decides. Both searches start with a literal quote, which re scans fast.
_SPELLED = [orjson.dumps(c)[1:-1] for c in WHITESPACE]
_OPENS = re.compile(b'"(?:' + b"|".join(map(re.escape, _SPELLED)) + b")")
_CLOSES = re.compile(b'"(?:' + b"|".join(re.escape(s[::-1]) for s in _SPELLED) + b")")


def _padded(blob: bytes) -> bool:
    """Does a key or text value in this orjson output start or end with whitespace?"""
    return bool(_OPENS.search(blob) or _CLOSES.search(blob[::-1]))


def _attributes_rows(
    values: list, errors: Errors, caps: dict[int, str], max_keys: int, max_bytes: int
) -> pa.Array:
    """Row by row, for columns holding something else than clean objects of scalars."""
    out: list[bytes | None] = []
    for i, value in enumerate(values):
        value, reason = check_attributes(value)
        if reason:
            errors.setdefault(i, []).append({"field": "attributes", "reason": reason})
            out.append(None)
            continue
        if not value:
            out.append(None)
            continue
        blob = orjson.dumps(value)
        if len(value) > max_keys:
            caps[i] = f"more than {max_keys} keys"
        elif len(blob) > max_bytes:
            caps[i] = f"{len(blob)} bytes as JSON, above the cap of {max_bytes}"
        out.append(blob)
    return pa.array(out, _STRING)
