"""The event contract of DESIGN.md: one application event = one step of one dossier.

``validate_event`` turns one raw JSON object into a stored row (``applicant_id`` replaced by
``applicant_ref``) or raises ``EventError`` whose ``errors`` name each bad field and why.
``STORE_SCHEMA`` is the Arrow schema of the store; ``rows_to_table`` builds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import orjson
import pyarrow as pa
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

from ingest.pseudonym import Pseudonymizer

PROCEDURE_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._\-]{0,63}$")
# Control characters (NUL and the rest of C0, DEL) and the bidirectional overrides and
# isolates that make a stored id or step name read differently from what it is.
FORBIDDEN_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069"
_FORBIDDEN = re.compile(f"[{FORBIDDEN_CHARS}]")
# the same class for Arrow's RE2 (column checks of importers and the sink)
FORBIDDEN_RE2 = r"[\x{00}-\x{08}\x{0b}\x{0c}\x{0e}-\x{1f}\x{7f}\x{202a}-\x{202e}\x{2066}-\x{2069}]"
FORBIDDEN_REASON = "holds a control or bidirectional-override character (e.g. NUL, U+202E)"
# The text fields the character rule covers: identifiers and names shown to people.
CHECKED_TEXT = (
    "event_id", "case_id", "procedure_code", "activity", "org_unit", "province_code",
    "commune_code", "resource", "outcome",
)  # fmt: skip
DEFAULT_EARLIEST = date(2000, 1, 1)
DEFAULT_AHEAD_DAYS = 366


def timestamp_window(
    earliest: date = DEFAULT_EARLIEST, ahead_days: int = DEFAULT_AHEAD_DAYS
) -> tuple[datetime, datetime]:
    """The instants an event may carry: from ``earliest`` (UTC midnight) to now plus
    ``ahead_days``. A time outside it is a typo or an attack, and once stored it would sit
    in a partition no month can name (the settings ``timestamp_earliest`` /
    ``timestamp_ahead_days`` widen it for old logs)."""
    low = datetime(earliest.year, earliest.month, earliest.day, tzinfo=UTC)
    return low, datetime.now(UTC) + timedelta(days=ahead_days)


def window_reason(window: tuple[datetime, datetime]) -> str:
    low, high = window
    return (
        f"outside the accepted window {low:%Y-%m-%d} .. {high:%Y-%m-%d} "
        "(settings timestamp_earliest / timestamp_ahead_days)"
    )


class Lifecycle(StrEnum):
    start = "start"
    complete = "complete"


class Channel(StrEnum):
    online = "online"
    counter = "counter"
    postal = "postal"
    internal = "internal"
    system = "system"


class ActorRole(StrEnum):
    citizen = "citizen"
    officer = "officer"
    system = "system"


Scalar = StrictStr | StrictInt | StrictFloat | StrictBool | None
NonEmpty = Annotated[str, Field(min_length=1)]


class Event(BaseModel):
    """One step of one dossier, as sent by a source system (wire format)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "event_id": "HCM-000.00.01.H29-250701-0001-3",
                    "case_id": "000.00.01.H29-250701-0001",
                    "procedure_code": "1.001193",
                    "activity": "receive",
                    "timestamp": "2025-07-01T08:15:00+07:00",
                    "lifecycle": "complete",
                    "org_unit": "H29.X001",
                    "province_code": "79",
                    "commune_code": "26734",
                    "channel": "online",
                    "actor_role": "officer",
                    "resource": "officer-17",
                    "applicant_id": "079203001234",
                    "attributes": {"fee": 0},
                }
            ]
        },
    )

    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    case_id: Annotated[str, Field(min_length=1, max_length=128)]
    procedure_code: Annotated[str, Field(min_length=1, max_length=64)]
    activity: Annotated[str, Field(min_length=1, max_length=200)]
    timestamp: AwareDatetime
    lifecycle: Lifecycle = Lifecycle.complete
    org_unit: Annotated[str, Field(min_length=1, max_length=128)]
    province_code: Annotated[str, Field(max_length=32)] | None = None
    commune_code: Annotated[str, Field(max_length=32)] | None = None
    channel: Channel = Channel.internal
    actor_role: ActorRole | None = None
    resource: Annotated[str, Field(max_length=128)] | None = None
    applicant_id: Annotated[str, Field(max_length=256)] | None = None
    outcome: Annotated[str, Field(max_length=64)] | None = None
    attributes: dict[str, Scalar] | None = None

    @field_validator(*CHECKED_TEXT)
    @classmethod
    def _plain_text(cls, value: str | None) -> str | None:
        if value is not None and _FORBIDDEN.search(value):
            raise ValueError(FORBIDDEN_REASON)
        return value

    @field_validator("procedure_code")
    @classmethod
    def _procedure_code_shape(cls, value: str) -> str:
        if not PROCEDURE_CODE.match(value):
            raise ValueError("must be letters, digits, '.', '_' or '-' (e.g. 1.001193)")
        return value


# The wire-format fields, in contract order (what files and streams carry).
WIRE_FIELDS: tuple[str, ...] = tuple(Event.model_fields)


class EventError(ValueError):
    """An event broke the contract; ``errors`` is a list of {field, reason}."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['reason']}" for e in errors))


# Columns of the store, in order. ``attributes`` is JSON text; times are UTC instants.
STORE_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("case_id", pa.string()),
        ("procedure_code", pa.string()),
        ("activity", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("lifecycle", pa.string()),
        ("org_unit", pa.string()),
        ("province_code", pa.string()),
        ("commune_code", pa.string()),
        ("channel", pa.string()),
        ("actor_role", pa.string()),
        ("resource", pa.string()),
        ("applicant_ref", pa.string()),
        ("outcome", pa.string()),
        ("attributes", pa.string()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
        # who wrote it ("key:<name>" through the gateway, "kafka:<principal>" on a producer's
        # own topic, null for imports): an event_id is unique per source, never across them
        ("source", pa.string()),
        # the event's place in its source (row of the file, offset in the Kafka partition):
        # mining orders a dossier's events of equal timestamp by it, as the source had them
        ("source_order", pa.int64()),
    ]
)
STORE_COLUMNS = STORE_SCHEMA.names

# The case-attribute table: a dossier's trace-level attributes (XES ``<trace>`` attributes,
# ``case:*`` columns of a CSV) once per dossier, as JSON text; no caps (files only).
CASE_ATTRIBUTES_SCHEMA = pa.schema(
    [
        ("procedure_code", pa.string()),
        ("case_id", pa.string()),
        ("attributes", pa.string()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _pydantic_errors(exc: ValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "event"
        reason = err["msg"]
        if err["type"] == "timezone_aware":
            reason = "naive timestamp: give an offset, e.g. 2025-07-01T08:15:00+07:00"
        elif err["type"] == "extra_forbidden":
            reason = "unknown field (put extra data under 'attributes')"
        out.append({"field": loc, "reason": reason})
    return out


def unwrap_cloudevent(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """CloudEvents 1.0 structured JSON carries the event as its ``data``."""
    if "specversion" in raw and "data" in raw and isinstance(raw["data"], Mapping):
        return raw["data"]
    return raw


def parse_event(
    raw: Any,
    *,
    max_attributes: int = 64,
    max_attributes_bytes: int = 8192,
    window: tuple[datetime, datetime] | None = None,
) -> Event:
    """Validate one decoded JSON value against the contract; raise ``EventError``.

    ``window`` bounds the timestamp (default: ``timestamp_window()``)."""
    if not isinstance(raw, Mapping):
        raise EventError([{"field": "event", "reason": "must be a JSON object"}])
    if "specversion" in raw and raw.get("specversion") != "1.0":
        reason = f'CloudEvents specversion must be "1.0", not {raw.get("specversion")!r}'
        raise EventError([{"field": "specversion", "reason": reason[:200]}])
    raw = unwrap_cloudevent(raw)
    try:
        event = Event.model_validate(raw)
    except ValidationError as exc:
        raise EventError(_pydantic_errors(exc)) from None
    window = window or timestamp_window()
    if not window[0] <= event.timestamp <= window[1]:
        raise EventError([{"field": "timestamp", "reason": window_reason(window)}])
    if event.attributes:
        if len(event.attributes) > max_attributes:
            raise EventError(
                [{"field": "attributes", "reason": f"more than {max_attributes} keys"}]
            )
        size = len(orjson.dumps(event.attributes))
        if size > max_attributes_bytes:
            raise EventError(
                [
                    {
                        "field": "attributes",
                        "reason": f"{size} bytes as JSON, above the cap of {max_attributes_bytes}",
                    }
                ]
            )
    return event


def to_row(
    event: Event, pseudonymizer: Pseudonymizer, ingested_at: datetime, source: str | None = None
) -> dict[str, Any]:
    """The stored form of a valid event: raw ``applicant_id`` replaced, never kept."""
    return {
        "event_id": event.event_id,
        "case_id": event.case_id,
        "procedure_code": event.procedure_code,
        "activity": event.activity,
        "timestamp": event.timestamp.astimezone(UTC),
        "lifecycle": event.lifecycle.value,
        "org_unit": event.org_unit,
        "province_code": event.province_code,
        "commune_code": event.commune_code,
        "channel": event.channel.value,
        "actor_role": event.actor_role.value if event.actor_role else None,
        "resource": event.resource,
        "applicant_ref": pseudonymizer.ref(event.applicant_id),
        "outcome": event.outcome,
        "attributes": orjson.dumps(event.attributes).decode() if event.attributes else None,
        "ingested_at": ingested_at,
        "source": source,
    }


def validate_event(
    raw: Any,
    pseudonymizer: Pseudonymizer,
    *,
    ingested_at: datetime | None = None,
    max_attributes: int = 64,
    max_attributes_bytes: int = 8192,
    window: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """Raw JSON value -> stored row, or ``EventError`` naming the fields."""
    event = parse_event(
        raw,
        max_attributes=max_attributes,
        max_attributes_bytes=max_attributes_bytes,
        window=window,
    )
    return to_row(event, pseudonymizer, ingested_at or datetime.now(UTC))


def rows_to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Stored rows -> an Arrow table with exactly ``STORE_SCHEMA``."""
    rows = list(rows)
    columns = {name: [r.get(name) for r in rows] for name in STORE_COLUMNS}
    return pa.Table.from_pydict(columns, schema=STORE_SCHEMA)


def conform_table(table: pa.Table) -> pa.Table:
    """Cast/complete an Arrow table (e.g. from an importer) to ``STORE_SCHEMA``."""
    n = table.num_rows
    arrays = []
    for field in STORE_SCHEMA:
        if field.name in table.column_names:
            arrays.append(table.column(field.name).cast(field.type))
        else:
            arrays.append(pa.nulls(n, type=field.type))
    return pa.Table.from_arrays(arrays, schema=STORE_SCHEMA)
