"""Decoding a batch of Kafka message values into a store table, with the contract's rules.

``decode_batch_reference`` is the rules, plainly: ``ingest.schema.validate_event`` per
message. ``decode_batch`` is what the sink runs: the same decisions and messages (a property
test compares them), checked column-wise a batch at a time; 1.1-1.5x less CPU per event on
this shared machine (``benchmarks/bench_ingest.py``, decode rows), orjson.loads being a third.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import orjson
import pandas as pd
import pyarrow as pa

from dvcflow.settings import Settings
from ingest.importers.contract import FIELD_ORDER, check_frame
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


def decode_batch(
    values: Sequence[bytes | None],
    pseudonymizer: Pseudonymizer,
    settings: Settings,
    ingested_at: datetime | None = None,
) -> tuple[pa.Table, list[Reject]]:
    """Raw message values -> (store table, [(index, reason, errors)]), same rules, faster.

    Plain JSON objects are checked a whole batch at a time by the importers' column-wise
    contract (``ingest.importers.contract.check_frame``, one HMAC per distinct applicant).
    Whatever that does not settle (a CloudEvent, an unknown field, an explicit null for a
    defaulted enum, any row it rejects) goes through ``ingest.schema.parse_event``, so the
    DLQ reasons are the contract's own. ``tests/ingest/test_sink_decode.py`` checks it
    agrees with ``decode_batch_reference``.
    """
    ingested_at = ingested_at or datetime.now(UTC)
    rejects: list[Reject] = []
    plain: list[dict] = []
    plain_at: list[int] = []
    slow: list[tuple[int, object]] = []
    for i, value in enumerate(values):
        try:
            raw = _load(value)
        except EventError as exc:
            rejects.append((i, str(exc), exc.errors))
            continue
        if (
            type(raw) is dict
            and raw.keys() <= _WIRE
            and raw.get("lifecycle", "") is not None  # null is refused, absent is defaulted
            and raw.get("channel", "") is not None
        ):
            plain.append(raw)
            plain_at.append(i)
        else:
            slow.append((i, raw))

    tables: list[pa.Table] = []
    order: list[int] = []
    if plain:
        checked = _check_plain(plain, pseudonymizer, settings, ingested_at)
        if checked is None:  # a value the column check cannot hold, e.g. year 9999
            slow.extend(zip(plain_at, plain, strict=True))
        else:
            table, errors = checked
            tables.append(table)
            order.extend(at for j, at in enumerate(plain_at) if j not in errors)
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
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    if any(a > b for a, b in zip(order, order[1:], strict=False)):  # keep message order
        table = table.take(pa.array(sorted(range(len(order)), key=order.__getitem__)))
    return table, rejects


_WIRE = frozenset(WIRE_FIELDS)
_ABSENT = dict.fromkeys(FIELD_ORDER)  # check_frame reads None as absent
_ROW = operator.itemgetter(*FIELD_ORDER)
_N_WIRE = len(FIELD_ORDER)


def _check_plain(
    rows: list[dict], pseudonymizer: Pseudonymizer, settings: Settings, ingested_at: datetime
) -> tuple[pa.Table, dict[int, list[dict[str, str]]]] | None:
    """The column-wise contract on wire dicts (object columns: no type guessing by pandas)."""
    full = [r if len(r) == _N_WIRE else {**_ABSENT, **r} for r in rows]
    columns = zip(*map(_ROW, full), strict=True)
    frame = pd.DataFrame(
        {f: pd.Series(list(c), dtype=object) for f, c in zip(FIELD_ORDER, columns, strict=True)}
    )
    try:
        return check_frame(
            frame,
            pseudonymizer,
            ingested_at=ingested_at,
            max_attributes=settings.max_attributes,
            max_attributes_bytes=settings.max_attributes_bytes,
        )
    except (ValueError, OverflowError, pa.ArrowException):
        return None


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
