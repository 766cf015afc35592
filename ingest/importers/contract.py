"""The event contract checked on whole columns: the fast path for big files.

``ingest.schema.parse_event`` checks one event with pydantic (about 20 µs each); a 500,000
event log would spend most of its import there. ``check_frame`` enforces exactly the same
rules on a table of wire-format rows and builds the stored rows in one go. Both must accept
and reject the same rows naming the same fields: ``tests/ingest/test_import_contract.py``
holds them to it on generated rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from ingest.pseudonym import Pseudonymizer
from ingest.schema import PROCEDURE_CODE, STORE_SCHEMA, ActorRole, Channel, Lifecycle

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


def _add(errors: Errors, rows: np.ndarray, field: str, reason: str | Callable[[int], str]):
    for i in rows.tolist():
        errors.setdefault(i, []).append(
            {"field": field, "reason": reason(i) if callable(reason) else reason}
        )


def _text(column: pd.Series, field: str, errors: Errors) -> pd.Series:
    low, high, required = TEXT_RULES[field]
    missing = column.isna().to_numpy()
    is_str = column.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if required:
        _add(errors, np.flatnonzero(missing), field, "Field required")
    _add(errors, np.flatnonzero(~missing & ~is_str), field, "Input should be a valid string")
    stripped = column.where(is_str).str.strip(WHITESPACE)
    length = stripped.str.len().to_numpy(dtype=float, na_value=np.nan)
    s = "" if low == 1 else "s"
    _add(errors, np.flatnonzero(is_str & (length < low)), field,
         f"String should have at least {low} character{s}")
    _add(errors, np.flatnonzero(is_str & (length > high)), field,
         f"String should have at most {high} characters")
    if field == "procedure_code":
        ok_len = is_str & (length >= low) & (length <= high)
        shape = stripped.str.match(PROCEDURE_CODE.pattern).to_numpy(dtype=bool, na_value=False)
        _add(errors, np.flatnonzero(ok_len & ~shape), field,
             "Value error, must be letters, digits, '.', '_' or '-' (e.g. 1.001193)")
    return stripped.where(is_str, None)


def _enum(column: pd.Series, field: str, errors: Errors) -> pd.Series:
    allowed, default = ENUM_RULES[field]
    missing = column.isna().to_numpy()
    ok = column.isin(allowed).to_numpy()
    quoted = [f"'{v}'" for v in allowed]
    listing = ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]
    _add(errors, np.flatnonzero(~missing & ~ok), field, f"Input should be {listing}")
    return column.where(~missing, default)


def _timestamp(column: pd.Series, errors: Errors) -> pd.Series:
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        _add(errors, np.flatnonzero(column.isna().to_numpy()), "timestamp", "Field required")
        return column.dt.tz_convert("UTC")
    out: list[Any] = []
    for i, value in enumerate(column.tolist()):
        if value is None or value is pd.NaT:
            _add(errors, np.array([i]), "timestamp", "Field required")
            out.append(pd.NaT)
            continue
        try:
            stamp = _AWARE.validate_python(value)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            reason = err["msg"]
            if err["type"] == "timezone_aware":
                reason = "naive timestamp: give an offset, e.g. 2025-07-01T08:15:00+07:00"
            _add(errors, np.array([i]), "timestamp", reason)
            out.append(pd.NaT)
            continue
        out.append(pd.Timestamp(stamp.astimezone(UTC)))
    return pd.Series(pd.DatetimeIndex(out, tz="UTC") if out else [], dtype="datetime64[ns, UTC]",
                     index=column.index)


def check_attributes(value: Any, max_keys: int, max_bytes: int) -> tuple[Any, str | None]:
    """One ``attributes`` value as pydantic leaves it (strings stripped), or why not."""
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
    if clean and len(clean) > max_keys:
        return None, f"more than {max_keys} keys"
    if clean:
        size = len(orjson.dumps(clean))
        if size > max_bytes:
            return None, f"{size} bytes as JSON, above the cap of {max_bytes}"
    return clean, None


def check_frame(
    frame: pd.DataFrame,
    pseudonymizer: Pseudonymizer,
    *,
    ingested_at: datetime | None = None,
    max_attributes: int = 64,
    max_attributes_bytes: int = 8192,
) -> tuple[pa.Table, Errors]:
    """Wire-format rows (one column per field, None = absent) -> stored rows and the errors.

    Returns the valid rows as a ``STORE_SCHEMA`` table (in row order) and, per rejected row
    position, its ``{field, reason}`` list, as ``parse_event`` would give it.
    """
    frame = frame.reset_index(drop=True)
    n = len(frame)
    errors: Errors = {}
    none = pd.Series([None] * n, dtype=object)
    col = {f: (frame[f].astype(object) if f in frame.columns else none) for f in FIELD_ORDER}
    if "timestamp" in frame.columns and isinstance(frame["timestamp"].dtype, pd.DatetimeTZDtype):
        col["timestamp"] = frame["timestamp"]
    out: dict[str, Any] = {}
    for field in FIELD_ORDER:
        if field in TEXT_RULES:
            out[field] = _text(col[field], field, errors)
        elif field in ENUM_RULES:
            out[field] = _enum(col[field], field, errors)
        elif field == "timestamp":
            out[field] = _timestamp(col[field], errors)
        else:
            attrs = []
            for i, value in enumerate(col[field].tolist()):
                clean, reason = check_attributes(value, max_attributes, max_attributes_bytes)
                if reason:
                    _add(errors, np.array([i]), "attributes", reason)
                attrs.append(orjson.dumps(clean).decode() if clean else None)
            out[field] = pd.Series(attrs, dtype=object)
    for i in errors:
        errors[i].sort(key=lambda e: FIELD_ORDER.index(e["field"]))

    keep = np.ones(n, dtype=bool)
    keep[list(errors)] = False
    refs = _pseudonymise(out.pop("applicant_id")[keep], pseudonymizer)
    stamp = ingested_at or datetime.now(UTC)
    arrays = {}
    for f in STORE_SCHEMA:
        if f.name == "applicant_ref":
            arrays[f.name] = pa.array(refs, type=pa.string())
        elif f.name == "ingested_at":
            arrays[f.name] = pa.array([stamp] * int(keep.sum()), type=f.type)
        elif f.name == "timestamp":
            arrays[f.name] = pa.array(out["timestamp"][keep]).cast(f.type, safe=False)
        else:
            arrays[f.name] = pa.array(out[f.name][keep], type=f.type, from_pandas=True)
    return pa.table(arrays, schema=STORE_SCHEMA), errors


def _pseudonymise(ids: pd.Series, pseudonymizer: Pseudonymizer) -> list[str | None]:
    """One HMAC per distinct applicant, not per event."""
    cache: dict[str, str | None] = {}
    out = []
    for value in ids.tolist():
        if value is None:
            out.append(None)
            continue
        if value not in cache:
            cache[value] = pseudonymizer.ref(value)
        out.append(cache[value])
    return out
