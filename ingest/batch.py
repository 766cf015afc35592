"""Decoding a batch of Kafka message values into a store table, with the contract's rules.

``decode_batch_reference`` is the rules, plainly: ``ingest.schema.validate_event`` per
message. ``decode_batch`` is what the sink runs: the same decisions and messages (a property
test compares them), checked column by column on plain Python lists and Arrow arrays (no
pandas): one ``orjson.loads`` per message, one Arrow call per field and batch, timestamps
parsed by Arrow, one HMAC per distinct applicant. ``benchmarks/bench_ingest.py`` measures
both (decode rows).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
from ingest.schema import (
    STORE_SCHEMA,
    WIRE_FIELDS,
    Event,
    EventError,
    parse_event,
    rows_to_table,
    validate_event,
)

Reject = tuple[int, str, list[dict[str, str]]]
"""(index in the batch, reason, [{field, reason}])"""


def decode_batch_reference(
    values: Sequence[bytes | None],
    pseudonymizer: Pseudonymizer,
    settings: Settings,
    ingested_at: datetime | None = None,
) -> tuple[pa.Table, list[Reject]]:
    """One event at a time through ``ingest.schema.validate_event``: the rules, plainly."""
    ingested_at = ingested_at or datetime.now(UTC)
    rows: list[dict] = []
    rejects: list[Reject] = []
    for i, value in enumerate(values):
        try:
            raw = _load(value)
            rows.append(
                validate_event(
                    raw,
                    pseudonymizer,
                    ingested_at=ingested_at,
                    max_attributes=settings.max_attributes,
                    max_attributes_bytes=settings.max_attributes_bytes,
                )
            )
        except EventError as exc:
            rejects.append((i, str(exc), exc.errors))
    return rows_to_table(rows), rejects


def _load(value: bytes | None) -> object:
    if not value:
        raise EventError([{"field": "event", "reason": "empty message"}])
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise EventError([{"field": "event", "reason": f"bad JSON: {exc}"}]) from None


_UNREADABLE = object()


def decode_batch(
    values: Sequence[bytes | None],
    pseudonymizer: Pseudonymizer,
    settings: Settings,
    ingested_at: datetime | None = None,
) -> tuple[pa.Table, list[Reject]]:
    """Raw message values -> (store table, [(index, reason, errors)]), same rules, faster.

    Plain JSON objects are checked a whole batch at a time, column by column, with the
    importers' rules (``ingest.importers.contract``). Whatever that does not settle (a
    CloudEvent, an unknown field, an explicit null for a defaulted enum, any row it rejects)
    goes through ``ingest.schema.parse_event``, so the DLQ reasons are the contract's own.
    ``tests/ingest/test_sink_decode.py`` checks it agrees with ``decode_batch_reference``.
    """
    with _gc_paused():
        return _decode(values, pseudonymizer, settings, ingested_at or datetime.now(UTC))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Decoded rows are acyclic and live until the table is built: the collector's passes
    over them free nothing and cost about a fifth of the decode."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _decode(
    values: Sequence[bytes | None],
    pseudonymizer: Pseudonymizer,
    settings: Settings,
    ingested_at: datetime,
) -> tuple[pa.Table, list[Reject]]:
    rejects: list[Reject] = []
    plain: list[dict] = []
    plain_at: list[int] = []
    slow: list[tuple[int, object]] = []
    try:
        raws: list = list(map(orjson.loads, values))  # empty or bad bytes: one at a time
    except orjson.JSONDecodeError:
        raws = []
        for i, value in enumerate(values):
            try:
                raws.append(_load(value))
            except EventError as exc:
                rejects.append((i, str(exc), exc.errors))
                raws.append(_UNREADABLE)
    if set(map(type, raws)) == {dict} and set().union(*raws) <= _WIRE:  # the usual batch
        plain, plain_at = raws, list(range(len(raws)))
    else:
        for i, raw in enumerate(raws):
            if type(raw) is dict and raw.keys() <= _WIRE:
                plain.append(raw)
                plain_at.append(i)
            elif raw is not _UNREADABLE:
                slow.append((i, raw))

    tables: list[pa.Table] = []
    order: list[int] = []
    if plain:
        checked = _check_plain(plain, pseudonymizer, settings, ingested_at)
        if checked is None:  # a value the column check cannot hold
            slow.extend(zip(plain_at, plain, strict=True))
        else:
            table, errors = checked
            tables.append(table)
            order = [at for j, at in enumerate(plain_at) if j not in errors] if errors else plain_at
            slow.extend((plain_at[j], plain[j]) for j in errors)

    events: list[Event] = []
    events_at: list[int] = []
    max_keys, max_bytes = settings.max_attributes, settings.max_attributes_bytes
    for i, raw in sorted(slow, key=lambda item: item[0]):
        try:
            events.append(parse_event(raw, max_attributes=max_keys, max_attributes_bytes=max_bytes))
        except EventError as exc:
            rejects.append((i, str(exc), exc.errors))
            continue
        events_at.append(i)
    if events:
        tables.append(events_to_table(events, pseudonymizer, ingested_at))
        order.extend(events_at)
    rejects.sort(key=lambda r: r[0])
    if not tables:
        return STORE_SCHEMA.empty_table(), rejects
    if len(tables) == 1:  # each path keeps message order
        return tables[0], rejects
    table = pa.concat_tables(tables)  # plain rows, then the others: back to message order
    return table.take(pa.array(np.argsort(np.array(order), kind="stable"))), rejects


_WIRE = frozenset(WIRE_FIELDS)
_STRING = pa.string()
_UTC_US = pa.timestamp("us", tz="UTC")


def _check_plain(
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
        for field in FIELD_ORDER:
            values = _column(rows, field) if field in present else [None] * n
            if field in TEXT_RULES:
                out[field] = _text(values, field, errors)
            elif field in ENUM_RULES:
                out[field] = _enum(values, field, errors)
                if ENUM_RULES[field][1] is not None and field in present:
                    nulls = [j for j, v in enumerate(values) if v is None and field in rows[j]]
                    add_errors(errors, np.array(nulls, dtype=np.int64), field, "null")
            elif field == "timestamp":
                out[field] = timestamp_values(values, errors)
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
    stamp = np.full(kept, _micros(ingested_at), dtype=np.int64)
    arrays = []
    for f in STORE_SCHEMA:
        if f.name == "applicant_ref":
            arrays.append(pseudonymise(out["applicant_id"], pseudonymizer))
        elif f.name == "ingested_at":
            arrays.append(pa.array(stamp).cast(_UTC_US))
        else:
            arrays.append(out[f.name])
    return pa.Table.from_arrays(arrays, schema=STORE_SCHEMA), errors


def _column(rows: list[dict], field: str) -> list:
    """One field of every row (None where absent); a C loop when every row has it."""
    try:
        return list(map(itemgetter(field), rows))
    except KeyError:
        return [r.get(field) for r in rows]


def _strings(values: list, field: str, errors: Errors) -> pa.Array | None:
    """The column as Arrow text; a value of another JSON type is an error (then null)."""
    try:
        return pa.array(values, _STRING)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    wrong = [i for i, v in enumerate(values) if v is not None and type(v) is not str]
    add_errors(errors, np.array(wrong, dtype=np.int64), field, "Input should be a valid string")
    return None


def _text(values: list, field: str, errors: Errors) -> pa.Array:
    text = _strings(values, field, errors)
    if text is not None:
        return check_text(text, field, errors)
    if TEXT_RULES[field][2]:
        missing = [i for i, v in enumerate(values) if v is None]
        add_errors(errors, np.array(missing, dtype=np.int64), field, "Field required")
    text = pa.array([v if type(v) is str else None for v in values], _STRING)
    return check_text(text, field, errors, check_missing=False)


def _enum(values: list, field: str, errors: Errors) -> pa.Array:
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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_STRING = pa.string()


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def events_to_table(
    events: list[Event], pseudonymizer: Pseudonymizer, ingested_at: datetime
) -> pa.Table:
    """Column by column what ``ingest.schema.to_row`` does row by row."""
    refs: dict[str | None, str | None] = {}
    applicant_refs = []
    for e in events:
        key = e.applicant_id
        if key not in refs:
            refs[key] = pseudonymizer.ref(key)
        applicant_refs.append(refs[key])
    ts_type = STORE_SCHEMA.field("timestamp").type
    n = len(events)

    def text(values: list) -> pa.Array:  # enum members are str, stored as their value
        return pa.array(values, _STRING)

    arrays = [
        text([e.event_id for e in events]),
        text([e.case_id for e in events]),
        text([e.procedure_code for e in events]),
        text([e.activity for e in events]),
        pa.array([_micros(e.timestamp) for e in events], pa.int64()).cast(ts_type),
        text([e.lifecycle for e in events]),
        text([e.org_unit for e in events]),
        text([e.province_code for e in events]),
        text([e.commune_code for e in events]),
        text([e.channel for e in events]),
        text([e.actor_role for e in events]),
        text([e.resource for e in events]),
        text(applicant_refs),
        text([e.outcome for e in events]),
        text([orjson.dumps(e.attributes).decode() if e.attributes else None for e in events]),
        pa.array([_micros(ingested_at)] * n, pa.int64()).cast(ts_type),
    ]
    return pa.Table.from_arrays(arrays, schema=STORE_SCHEMA)
