"""Request bodies of the gateway -> individual events, with a per-event error for the rest.

Accepted shapes: one JSON object, a JSON array of them, NDJSON (one per line), and CloudEvents
1.0 structured JSON (single, or a batch array), whose ``data`` is the event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from ingest.schema import Event, EventError, parse_event, unwrap_cloudevent

NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")


@dataclass
class Decoded:
    """The events of one request: valid ones (index, wire dict, parsed) and errors by index."""

    valid: list[tuple[int, dict[str, Any], Event]] = field(default_factory=list)
    invalid: list[dict[str, Any]] = field(default_factory=list)  # the first ``max_errors``
    invalid_count: int = 0  # all of them

    @property
    def total(self) -> int:
        return len(self.valid) + self.invalid_count

    def reject(self, entry: dict[str, Any], max_errors: int | None) -> None:
        """Count an invalid event; keep its errors only among the first ``max_errors``, so a
        body of a million bad items cannot make a million error objects."""
        self.invalid_count += 1
        if max_errors is None or len(self.invalid) < max_errors:
            self.invalid.append(entry)


def split_body(body: bytes, content_type: str = "") -> list[Any]:
    """The raw items of a body; an item that is not JSON becomes an ``EventError``."""
    stripped = body.strip()
    if not stripped:
        return [EventError([{"field": "body", "reason": "the request body is empty"}])]
    ndjson = content_type.split(";")[0].strip().lower() in NDJSON_TYPES
    if not ndjson:
        try:
            doc = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            if b"\n" not in stripped:
                return [EventError([{"field": "body", "reason": f"bad JSON: {exc}"}])]
            ndjson = True  # several lines of JSON without the NDJSON content type
        else:
            return doc if isinstance(doc, list) else [doc]
    items: list[Any] = []
    for number, line in enumerate(stripped.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            items.append(EventError([{"field": f"line {number}", "reason": f"bad JSON: {exc}"}]))
    return items


def decode_events(
    body: bytes,
    content_type: str,
    max_attributes: int = 64,
    max_attributes_bytes: int = 8192,
    *,
    window: tuple[datetime, datetime] | None = None,
    max_errors: int | None = None,
) -> Decoded:
    """Validate every item against the contract (``ingest.schema.parse_event``); keep the
    errors of the first ``max_errors`` invalid items (all when None)."""
    out = Decoded()
    for index, item in enumerate(split_body(body, content_type)):
        if isinstance(item, EventError):
            out.reject({"index": index, "event_id": None, "errors": item.errors}, max_errors)
            continue
        try:
            event = parse_event(
                item,
                max_attributes=max_attributes,
                max_attributes_bytes=max_attributes_bytes,
                window=window,
            )
        except EventError as exc:
            event_id = item.get("event_id") if isinstance(item, dict) else None
            out.reject(
                {
                    "index": index,
                    "event_id": event_id[:128] if isinstance(event_id, str) else None,
                    "errors": exc.errors[:20],
                },
                max_errors,
            )
            continue
        out.valid.append((index, dict(unwrap_cloudevent(item)), event))
    return out
