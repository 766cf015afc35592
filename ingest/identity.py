"""An event's identity and content, for telling a retry from a conflict.

An event is identified by ``(source, event_id)``: the source is the writer (``key:<name>``
through the gateway, ``kafka:<principal>`` on a producer's own topic), so a writer can
neither claim another's event id nor hide its event. The same identity sent again with the
same content is a retry (harmless: dropped on read); with other content it is a conflict,
refused with a reason (409 over HTTP, a dead letter on the stream) instead of letting
whichever copy came first win silently.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import orjson

from ingest.schema import Event
from ingest.store import EventStore
from ingest.store_facts import parquet_source

# The stored columns that make an event's content (all but its id, source and arrival).
CONTENT_COLUMNS = (
    "case_id",
    "procedure_code",
    "activity",
    "timestamp",
    "lifecycle",
    "org_unit",
    "province_code",
    "commune_code",
    "channel",
    "actor_role",
    "resource",
    "applicant_ref",
    "outcome",
    "attributes",
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

Content = tuple[Any, ...]


def event_content(event: Event, applicant_ref: str | None) -> Content:
    """The content of a wire event as the store will hold it (times in UTC microseconds)."""
    return (
        event.case_id,
        event.procedure_code,
        event.activity,
        (event.timestamp - _EPOCH) // _US,
        event.lifecycle.value,
        event.org_unit,
        event.province_code,
        event.commune_code,
        event.channel.value,
        event.actor_role.value if event.actor_role else None,
        event.resource,
        applicant_ref,
        event.outcome,
        orjson.dumps(event.attributes).decode() if event.attributes else None,
    )


def stored_contents(
    store: EventStore, source: str, case_ids: Iterable[str]
) -> dict[str, set[Content]]:
    """event_id -> the contents stored under ``source`` for the events of ``case_ids``."""
    ids = sorted(set(case_ids))
    files = store.files()
    if not ids or not files:
        return {}
    columns = ", ".join("epoch_us(timestamp)" if c == "timestamp" else c for c in CONTENT_COLUMNS)
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT DISTINCT event_id, {columns} FROM {parquet_source(files)} "
            "WHERE case_id IN (SELECT unnest($ids)) AND source = $source",
            {"ids": ids, "source": source},
        )
        .fetchall()
    )
    out: dict[str, set[Content]] = {}
    for event_id, *content in rows:
        out.setdefault(event_id, set()).add(tuple(content))
    return out


class Recent:
    """A bounded memory of what this process sent lately (oldest forgotten first): what the
    store cannot answer yet while events are still on their way through Kafka."""

    def __init__(self, size: int = 200_000):
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()  # the gateway checks requests on several threads

    def get(self, key: Hashable) -> Any:
        return self._items.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
