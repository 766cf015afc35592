"""The event contract checked on whole columns: the fast path for big files.

``ingest.schema.parse_event`` checks one event with pydantic (about 20 µs each); a 500,000
event log would spend most of its import there. ``check_frame`` enforces exactly the same
rules on a table of wire-format rows and builds the stored rows in one go. Both must accept
and reject the same rows naming the same fields: ``tests/ingest/test_import_contract.py``
holds them to it on generated rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from ingest.pseudonym import Pseudonymizer
from ingest.schema import (
    CHECKED_TEXT,
    FORBIDDEN_RE2,
    FORBIDDEN_REASON,
    PROCEDURE_CODE,
    STORE_SCHEMA,
    ActorRole,
    Channel,
    Lifecycle,
)

# What pydantic-core's str_strip_whitespace removes (Rust's char::is_whitespace, the Unicode
# White_Space property): not quite Python's str.strip(), which also strips \x1c-\x1f.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# field -> (min length, max length, required); same bounds as ingest.schema.Event
TEXT_RULES: dict[str, tuple[int, int, bool]] = {
    "event_id": (1, 128, True),
    "case_id": (1, 128, True),
    "procedure_code": (1, 64, True),
    "activity": (1, 200, True),
    "org_unit": (1, 128, True),
    "province_code": (0, 32, False),
    "commune_code": (0, 32, False),
    "resource": (0, 128, False),
    "applicant_id": (0, 256, False),
    "outcome": (0, 64, False),
}
ENUM_RULES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "lifecycle": (tuple(m.value for m in Lifecycle), Lifecycle.complete.value),
    "channel": (tuple(m.value for m in Channel), Channel.internal.value),
    "actor_role": (tuple(m.value for m in ActorRole), None),
}
FIELD_ORDER = (
    "event_id", "case_id", "procedure_code", "activity", "timestamp", "lifecycle", "org_unit",
    "province_code", "commune_code", "channel", "actor_role", "resource", "applicant_id",
    "outcome", "attributes",
)  # fmt: skip

_AWARE = TypeAdapter(AwareDatetime)

Errors = dict[int, list[dict[str, str]]]


def add_errors(errors: Errors, rows: np.ndarray, field: str, reason: str | Callable[[int], str]):
    for i in rows.tolist():
        errors.setdefault(i, []).append(
            {"field": field, "reason": reason(i) if callable(reason) else reason}
        )


def _arrow_text(column: pd.Series) -> pa.Array | None:
    """The column's Arrow string array when pandas holds it as one (the importers do)."""
    if isinstance(column.dtype, pd.ArrowDtype) and pa.types.is_string(column.dtype.pyarrow_dtype):
        values = pa.array(column.array)
        return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return None


def _text(column: pd.Series, field: str, errors: Errors) -> pa.Array:
    low, high, required = TEXT_RULES[field]
    arrow = _arrow_text(column)
    if arrow is not None:
        return check_text(arrow, field, errors)
    if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        return check_text(pa.array(column, type=pa.string(), from_pandas=True), field, errors)
    missing = column.isna().to_numpy()
    is_str = column.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    add_errors(errors, np.flatnonzero(~missing & ~is_str), field, "Input should be a valid string")
    if required:
        add_errors(errors, np.flatnonzero(missing), field, "Field required")
    text = pa.array(column.where(is_str, None), type=pa.string(), from_pandas=True)
    return check_text(text, field, errors, check_missing=False)


# Fields with few distinct values (activities, units): checked once per distinct value
FEW_VALUES = frozenset(TEXT_RULES) - {"event_id", "case_id", "applicant_id"}


def check_text(text: pa.Array, field: str, errors: Errors, check_missing: bool = True) -> pa.Array:
    low, high, required = TEXT_RULES[field]
    if required and check_missing:
        add_errors(errors, _rows(pc.is_null(text)), field, "Field required")
    values, index = text, None
    if field in FEW_VALUES:
        encoded = text.dictionary_encode()
        values, index = encoded.dictionary, encoded.indices

    def rows(bad: pa.Array) -> np.ndarray:  # the rows whose value is bad
        if not pc.any(bad).as_py():
            return np.empty(0, dtype=np.int64)
        return _rows(bad if index is None else bad.take(index))

    stripped = pc.utf8_trim(values, characters=WHITESPACE)
    length = pc.utf8_length(stripped)
    s = "" if low == 1 else "s"
    add_errors(
        errors, rows(pc.less(length, low)), field, f"String should have at least {low} character{s}"
    )
    too_long = f"String should have at most {high} characters"
    add_errors(errors, rows(pc.greater(length, high)), field, too_long)
    if field in CHECKED_TEXT:
        bad = pc.match_substring_regex(stripped, FORBIDDEN_RE2)
        add_errors(errors, rows(bad), field, f"Value error, {FORBIDDEN_REASON}")
    if field == "procedure_code":
        ok_len = pc.and_(pc.greater_equal(length, low), pc.less_equal(length, high))
        shape = pc.match_substring_regex(stripped, PROCEDURE_CODE.pattern)
        add_errors(
            errors,
            rows(pc.and_(ok_len, pc.invert(shape))),
            field,
            "Value error, must be letters, digits, '.', '_' or '-' (e.g. 1.001193)",
        )
    return stripped if index is None else stripped.take(index)


def _rows(mask: pa.Array) -> np.ndarray:
    return np.flatnonzero(mask.to_numpy(zero_copy_only=False) == True)  # noqa: E712 (nulls)


def _enum(column: pd.Series, field: str, errors: Errors) -> pd.Series | pa.Array:
    allowed, default = ENUM_RULES[field]
    arrow = _arrow_text(column)
    if arrow is not None:
        ok = pc.is_in(arrow, pa.array(allowed))
        wrong = _rows(pc.and_(arrow.is_valid(), pc.invert(ok)))
        add_errors(errors, wrong, field, enum_reason(allowed))
        return pc.fill_null(arrow, default) if default is not None else arrow
    missing = column.isna().to_numpy()
    ok = column.isin(allowed).to_numpy()
    add_errors(errors, np.flatnonzero(~missing & ~ok), field, enum_reason(allowed))
    return column.where(~missing, default)


def enum_reason(allowed: tuple[str, ...]) -> str:
    """pydantic's sentence for a value outside an enum."""
    quoted = [f"'{v}'" for v in allowed]
    listing = ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]
    return f"Input should be {listing}"


def _timestamp(column: pd.Series, errors: Errors) -> pd.Series | pa.Array:
    """Timezone-aware instants as UTC: a Series for a typed column, else microseconds since
    the epoch as an Arrow array (no pandas nanoseconds, so years 1-9999 fit, as in pydantic)."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        add_errors(errors, np.flatnonzero(column.isna().to_numpy()), "timestamp", "Field required")
        return column.dt.tz_convert("UTC")
    return timestamp_values(column.tolist(), errors)


# ISO 8601 as Arrow's parser and pydantic both read it, to the same instant: calendar-range
# fields, 1-6 fraction digits, an offset within a day. Anything else goes to pydantic.
_ISO_SHAPE = (
    r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]"
    r":[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_UTC_US = pa.timestamp("us", tz="UTC")


def timestamp_values(values: list | pa.Array, errors: Errors) -> pa.Array:
    """Timezone-aware instants as UTC microseconds; ISO strings of the common shape are
    parsed by Arrow in one call (no per-value pydantic), the rest one by one by pydantic.
    ``values`` is a list of any values or an Arrow text array."""
    n = len(values)
    micros = np.zeros(n, dtype=np.int64)
    valid = np.zeros(n, dtype=bool)
    slow: list[int] = list(range(n))
    text: pa.Array | None = None
    if isinstance(values, pa.Array):
        text = values
    else:
        with contextlib.suppress(pa.ArrowTypeError, pa.ArrowInvalid):
            text = pa.array(values, pa.string())
    if text is not None:
        shaped = pc.fill_null(pc.match_substring_regex(text, _ISO_SHAPE), False)
        fast = np.flatnonzero(shaped.to_numpy(zero_copy_only=False))
        try:
            parsed = text.filter(shaped).cast(_UTC_US).cast(pa.int64())
        except pa.ArrowInvalid:  # e.g. 30 February: let pydantic name it
            pass
        else:
            micros[fast] = parsed.to_numpy()
            valid[fast] = True
            slow = np.flatnonzero(~valid).tolist()
    validate = _AWARE.validate_python
    for i in slow:
        value = values[i].as_py() if isinstance(values, pa.Array) else values[i]
        if value is None or value is pd.NaT:
            add_errors(errors, np.array([i]), "timestamp", "Field required")
            continue
        try:
            stamp = validate(value)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            reason = err["msg"]
            if err["type"] == "timezone_aware":
                reason = "naive timestamp: give an offset, e.g. 2025-07-01T08:15:00+07:00"
            add_errors(errors, np.array([i]), "timestamp", reason)
            continue
        micros[i] = (stamp - _EPOCH) // _MICROSECOND
        valid[i] = True
    return pa.array(micros, pa.int64(), mask=~valid).cast(_UTC_US)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def check_attributes(value: Any) -> tuple[Any, str | None]:
    """One ``attributes`` value as pydantic leaves it (strings stripped), or why not.

    The caps on keys and bytes are checked by the caller, as ``parse_event`` does.
    """
    if value is None:
        return None, None
    if not isinstance(value, dict):
        return None, "Input should be a valid dictionary"
    clean: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            return None, "Input should be a valid string"
        if isinstance(item, str):
            item = item.strip(WHITESPACE)
        elif item is not None and not isinstance(item, bool | int | float):
            return None, "Input should be a valid string"
        clean[key.strip(WHITESPACE)] = item
    return clean, None


def _attributes(
    values: list, errors: Errors, caps: dict[int, str], max_keys: int, max_bytes: int, clean: bool
) -> pa.Array:
    """JSON text per row; shape errors go to ``errors``, cap breaches to ``caps`` (pydantic
    checks the caps only once the rest of the event is valid)."""
    out: list[str | None] = []
    for i, value in enumerate(values):
        if not clean:
            value, reason = check_attributes(value)
            if reason:
                errors.setdefault(i, []).append({"field": "attributes", "reason": reason})
                out.append(None)
                continue
        blob = orjson.dumps(value) if value else None
        if value and len(value) > max_keys:
            caps[i] = f"more than {max_keys} keys"
        elif blob is not None and len(blob) > max_bytes:
            caps[i] = f"{len(blob)} bytes as JSON, above the cap of {max_bytes}"
        out.append(blob.decode() if blob is not None else None)
    return pa.array(out, type=pa.string())


def _json_attributes(
    column: pd.Series, counts: np.ndarray, caps: dict[int, str], max_keys: int, max_bytes: int
) -> pa.Array:
    """Attributes the mapper wrote as JSON text of clean values: only the caps to check."""
    text = pa.array(column.array, pa.string())
    size = pc.fill_null(pc.binary_length(text), 0).to_numpy()
    for i in np.flatnonzero(counts > max_keys).tolist():
        caps[i] = f"more than {max_keys} keys"
    for i in np.flatnonzero((counts <= max_keys) & (size > max_bytes)).tolist():
        caps[i] = f"{size[i]} bytes as JSON, above the cap of {max_bytes}"
    return text


def check_frame(
    frame: pd.DataFrame,
    pseudonymizer: Pseudonymizer,
    *,
    ingested_at: datetime | None = None,
    max_attributes: int = 64,
    max_attributes_bytes: int = 8192,
    clean_attributes: bool = False,
    over_caps: dict[int, str] | None = None,
    attribute_counts: np.ndarray | None = None,
) -> tuple[pa.Table, Errors]:
    """Wire-format rows (one column per field, None = absent) -> stored rows and the errors.

    Returns the valid rows as a ``STORE_SCHEMA`` table (in row order) and, per rejected row
    position, its ``{field, reason}`` list, as ``parse_event`` would give it.
    ``clean_attributes`` says every ``attributes`` value is None or a dict of text keys to
    stripped scalars (the importers build them so): then only the caps are checked.
    With ``over_caps`` (file imports) a row above the stream's attribute caps is kept and
    its reason recorded there instead of rejecting it. With ``attribute_counts`` the
    ``attributes`` column is the mapper's JSON text and these are its key counts per row.
    """
    frame = frame.reset_index(drop=True)
    n = len(frame)
    errors: Errors = {}
    caps: dict[int, str] = {}
    none = pd.Series([None] * n, dtype=object)
    col = {}
    for f in FIELD_ORDER:
        if f not in frame.columns:
            col[f] = none
        elif isinstance(frame[f].dtype, pd.DatetimeTZDtype | pd.ArrowDtype):
            col[f] = frame[f]
        else:
            col[f] = frame[f].astype(object)
    out: dict[str, Any] = {}
    for field in FIELD_ORDER:
        if field in TEXT_RULES:
            out[field] = _text(col[field], field, errors)
        elif field in ENUM_RULES:
            out[field] = _enum(col[field], field, errors)
        elif field == "timestamp":
            out[field] = _timestamp(col[field], errors)
        elif attribute_counts is not None:
            out[field] = _json_attributes(
                col[field], attribute_counts, caps, max_attributes, max_attributes_bytes
            )
        else:
            out[field] = _attributes(
                col[field].tolist(),
                errors,
                caps,
                max_attributes,
                max_attributes_bytes,
                clean_attributes,
            )
    for i, reason in caps.items():
        if i in errors:
            continue
        if over_caps is not None:  # a file import: kept whole, the breach only reported
            over_caps[i] = reason
        else:
            errors[i] = [{"field": "attributes", "reason": reason}]
    for i in errors:
        errors[i].sort(key=lambda e: FIELD_ORDER.index(e["field"]))

    keep = np.ones(n, dtype=bool)
    keep[list(errors)] = False
    mask = pa.array(keep)
    ids = out.pop("applicant_id").filter(mask)
    stamp = ingested_at or datetime.now(UTC)
    kept = int(keep.sum())
    arrays = {}
    for f in STORE_SCHEMA:
        if f.name == "applicant_ref":
            arrays[f.name] = pseudonymise(ids, pseudonymizer)
        elif f.name == "ingested_at":
            arrays[f.name] = pa.array([stamp] * kept, type=f.type)
        elif f.name in ("source", "source_order"):  # set later: the writer, the row in the file
            arrays[f.name] = pa.nulls(kept, f.type)
        elif f.name == "timestamp":
            stamps = out["timestamp"]
            if isinstance(stamps, pd.Series):
                stamps = pa.array(stamps)
            arrays[f.name] = stamps.filter(mask).cast(f.type, safe=False)
        else:
            value = out[f.name]
            if isinstance(value, pd.Series):
                value = pa.array(value, type=f.type, from_pandas=True)
            arrays[f.name] = value.filter(mask)
    return pa.table(arrays, schema=STORE_SCHEMA), errors


def pseudonymise(ids: pa.Array, pseudonymizer: Pseudonymizer) -> pa.Array:
    """One HMAC per distinct applicant, not per event."""
    encoded = ids.dictionary_encode()
    refs = [pseudonymizer.ref(v) for v in encoded.dictionary.to_pylist()]
    return pa.array(refs, pa.string()).take(encoded.indices)
