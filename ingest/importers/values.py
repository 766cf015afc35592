"""Cell values of a source file as the contract wants them: text, JSON scalars, UTC instants.

Vectorised where the data is big (Arrow/numpy), one Python call per cell only where the
types are mixed.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.importers.contract import WHITESPACE

# Text cells that mean "no value" in attribute columns of CSV exports (R, pandas, Excel).
MISSING_TEXT = frozenset({"NA", "N/A", "NaN", "nan", "null", "NULL", "None", "#N/A"})

_AWARE = r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|z|UTC|[+-]\d\d(?::?\d\d)?)$"


def _text_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if value is pd.NaT:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def as_text(series: pd.Series) -> list[str | None]:
    """A column as Python text (ids keep their digits: 3.0 -> "3"), None for missing."""
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in (
        "string",
        "empty",
    ):
        return [None if v is None or v is pd.NA or v != v else v for v in series.tolist()]
    return [_text_value(v) for v in series.tolist()]


def _scalar(value: Any) -> Any:
    """An attribute value as a JSON scalar; None drops it."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, str):
        return value.strip(WHITESPACE)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict | list | tuple | np.ndarray):
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY, default=str).decode()
    return str(value)


def typed_text(values: pa.Array) -> pa.Array:
    """Text cells of one attribute column as ints, floats, booleans or text."""
    values = pc.if_else(pc.is_in(values, pa.array(sorted(MISSING_TEXT))), None, values)
    for target in (pa.int64(), pa.float64()):
        try:
            return _finite(pc.cast(values, target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    lowered = pc.utf8_lower(values)
    if pc.all(pc.is_in(lowered, pa.array(["true", "false"])), skip_nulls=True).as_py():
        return pc.equal(lowered, "true")
    return pc.utf8_trim(values, characters=WHITESPACE)


def _finite(values: pa.Array) -> pa.Array:
    """Floats without NaN and infinities (no JSON for them): those become missing."""
    if not pa.types.is_floating(values.type):
        return values
    return pc.if_else(pc.is_finite(values), values, None)


def _plain(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    return values


def iso_utc(series: pd.Series) -> pa.Array:
    """Instants as ISO 8601 UTC text (``...Z``), fast; None for missing."""
    values = (
        series.dt.tz_convert("UTC").dt.tz_localize(None)
        if isinstance(series.dtype, pd.DatetimeTZDtype)
        else series
    )
    micros = values.to_numpy(dtype="datetime64[us]")
    missing = np.isnat(micros)
    ticks = micros.astype("int64")[~missing]
    unit = "s" if not (ticks % 1_000_000).any() else "ms" if not (ticks % 1000).any() else "us"
    # numpy's datetime_as_string(unit=...) text, written by Arrow's cast to text
    # ("YYYY-MM-DD HH:MM:SS[.fff[fff]]", the fraction of the unit) with the space made a "T":
    # 15x faster than pc.strftime, the same text
    stamps = pa.array(micros.astype(f"datetime64[{unit}]"), mask=missing)
    text = pc.replace_substring(stamps.cast(pa.string()), " ", "T", max_replacements=1)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        text = pc.binary_join_element_wise(text, "Z", "")
    return text


def attribute_column(series: pd.Series, text_cells: bool) -> list[Any]:
    """One attribute column as JSON scalars per row (None = no value)."""
    if text_cells:
        return typed_text(pa.array(series, type=pa.string(), from_pandas=True)).to_pylist()
    if pd.api.types.is_datetime64_any_dtype(series):
        return iso_utc(series).to_pylist()
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
        return series.astype(object).tolist()
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        return [None if b else v for v, b in zip(values.tolist(), bad.tolist(), strict=True)]
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) == "string":
        return [v.strip(WHITESPACE) if isinstance(v, str) else None for v in series.tolist()]
    return [_scalar(v) for v in series.tolist()]


def attribute_array(values: pa.Array | pa.ChunkedArray, text_cells: bool) -> pa.Array | None:
    """One attribute column as an Arrow array of JSON scalars (missing = null), the values
    ``attribute_column`` gives for the same column read into pandas; None when the column
    holds other types (lists, mixed objects): then the caller goes row by row."""
    values = _plain(values)
    kind = values.type
    if text_cells and (pa.types.is_string(kind) or pa.types.is_null(kind)):
        return typed_text(values.cast(pa.string()))
    if pa.types.is_timestamp(kind):
        return iso_utc(values.to_pandas())
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
        return values
    if pa.types.is_floating(kind):
        return _finite(values.cast(pa.float64()))
    if pa.types.is_string(kind):
        return pc.utf8_trim(values, characters=WHITESPACE)
    return None


def json_members(key: str, values: pa.Array) -> pa.Array:
    """``"key":value`` as orjson writes it, per row (null where the value is missing); each
    distinct value is written once."""
    prefix = orjson.dumps(key).decode() + ":"
    encoded = values.dictionary_encode()
    texts = [prefix + orjson.dumps(v).decode() for v in encoded.dictionary.to_pylist()]
    return pa.array(texts, pa.string()).take(encoded.indices)


def json_objects(members: list[pa.Array], n: int) -> tuple[pa.Array, np.ndarray]:
    """Per row, the JSON object of its present members in column order (null when none),
    as ``orjson.dumps`` writes the dict, and how many keys it has."""
    counts = np.zeros(n, dtype=np.int64)
    for m in members:
        counts += m.is_valid().to_numpy(zero_copy_only=False)
    if not members:
        return pa.nulls(n, pa.string()), counts
    body = members[0]
    for member in members[1:]:  # (join's null_handling="skip" drops all-null rows)
        body = pc.coalesce(pc.binary_join_element_wise(body, member, ","), body, member)
    text = pc.binary_join_element_wise("{", body, "}", "")
    return pc.if_else(pa.array(counts > 0), text, None), counts


def json_object(value: Any) -> Any:
    """An ``attributes`` cell: JSON text (CSV, our Parquet) becomes a dict."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value  # the contract check says: not an object
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


# --- timestamps --------------------------------------------------------------------------
def parse_timestamps(series: pd.Series, timezone: str | None) -> tuple[pd.Series, dict[int, str]]:
    """A column as UTC instants; rows that are missing, unreadable or naive get a reason."""
    reasons: dict[int, str] = {}
    n = len(series)
    hint = "pass --timezone (e.g. --timezone UTC or Asia/Ho_Chi_Minh) to say how to read them"
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        out = series.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_any_dtype(series):
        if timezone is None:
            for i in range(n):
                reasons[i] = f"naive timestamp (no UTC offset) in the file; {hint}"
            return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]"), reasons
        out = series.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        out = out.dt.tz_convert("UTC")
    else:
        text = pd.Series(as_text(series), index=series.index, dtype=object)
        text = text.where(text.isna(), text.str.strip())
        aware = text.str.contains(_AWARE, regex=True, na=False)
        out = pd.to_datetime(text.where(aware), utc=True, format="ISO8601", errors="coerce")
        naive = text.notna() & ~aware
        if naive.any():
            if timezone is None:
                for i in np.flatnonzero(naive.to_numpy()):
                    reasons[int(i)] = f"naive timestamp {text.iat[i]!r} (no UTC offset); {hint}"
            else:
                local = pd.to_datetime(text.where(naive), format="ISO8601", errors="coerce")
                local = local.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
                out = out.where(~naive, local.dt.tz_convert("UTC"))
        for i in np.flatnonzero((out.isna() & text.notna()).to_numpy()):
            reasons.setdefault(
                int(i),
                f"cannot read {text.iat[i]!r} as a date-time "
                "(use ISO 8601, e.g. 2025-07-01T08:15:00+07:00)"
                + (f" in {timezone}" if timezone and naive.iat[i] else ""),
            )
        return out, _missing(out, reasons)
    for i in np.flatnonzero(out.isna().to_numpy()):
        reasons.setdefault(
            int(i), "missing" if pd.isna(series.iat[i]) else f"does not exist in {timezone}"
        )
    return out, reasons


def _missing(out: pd.Series, reasons: dict[int, str]) -> dict[int, str]:
    for i in np.flatnonzero(out.isna().to_numpy()):
        reasons.setdefault(int(i), "missing")
    return reasons
