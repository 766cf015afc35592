"""Decoding a batch of Kafka message values into a store table, with the contract's rules.

``decode_batch_reference`` is the rules, plainly: ``ingest.schema.validate_event`` per
message. ``decode_batch`` is what the sink runs: the same decisions and messages (a property
test compares them): one ``orjson.loads`` per message, then plain wire objects are checked
column by column (``ingest.batch_columns``) and the rest by ``parse_event``.
``benchmarks/bench_ingest.py`` measures both (decode rows).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pyarrow as pa

from dvcflow.settings import Settings
from ingest.batch_columns import check_plain
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
                    window=settings.timestamp_window(),
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
    importers' rules (``ingest.batch_columns.check_plain``). Whatever that does not settle (a
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
        checked = check_plain(plain, pseudonymizer, settings, ingested_at)
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
    window = settings.timestamp_window()
    for i, raw in sorted(slow, key=lambda item: item[0]):
        try:
            events.append(
                parse_event(
                    raw, max_attributes=max_keys, max_attributes_bytes=max_bytes, window=window
                )
            )
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
        pa.nulls(n, _STRING),  # source: set by the sink per message (``ingest.stream_scope``)
        pa.nulls(n, pa.int64()),  # source_order: the sink sets it from the offsets
    ]
    return pa.Table.from_arrays(arrays, schema=STORE_SCHEMA)
