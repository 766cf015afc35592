"""An event's identity and content, for telling a retry from a conflict.

An event is identified by ``(source, event_id)``: the source is the writer (``key:<name>``
through the gateway, ``kafka:<principal>`` on a producer's own topic), so a writer can
neither claim another's event id nor hide its event. The same identity sent again with the
same content is a retry (harmless: dropped on read); with other content it is a conflict,
refused with a reason (409 over HTTP, a dead letter on the stream) instead of letting
whichever copy came first win silently. Both are 64-bit hashes computed in SQL on the
stored form of the event (``identities``), so the gateway, the sink and the store's index
(``ingest.store_index``) compute the same numbers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import duckdb
import pyarrow as pa

# The stored columns that make an event's content (all but its id, source and arrival),
# each length-prefixed so that no two contents spell the same text.
CONTENT_COLUMNS = (
    "case_id", "procedure_code", "activity", "timestamp", "lifecycle", "org_unit",
    "province_code", "commune_code", "channel", "actor_role", "resource", "applicant_ref",
    "outcome", "attributes",
)  # fmt: skip
_SIGNED = "(md5_number_upper({}) :: HUGEINT - 9223372036854775808) :: BIGINT"


def _text(column: str) -> str:
    value = f"epoch_us({column}) :: VARCHAR" if column == "timestamp" else column
    return f"coalesce(length({value}) :: VARCHAR || ':' || {value}, '-')"


# SQL over the store columns: an event's identity and its content, as signed 64-bit ints
KEY_SQL = _SIGNED.format("coalesce(source, '') || chr(31) || event_id")
DIGEST_SQL = _SIGNED.format(" || '|' || ".join(_text(c) for c in CONTENT_COLUMNS))


def identities(table: pa.Table) -> tuple[list[int], list[int]]:
    """Per row of ``table`` (store columns, ``source`` set): its identity's hash and its
    content's digest."""
    if not table.num_rows:
        return [], []
    con = getattr(_local, "con", None)
    if con is None:  # a DuckDB database costs ~10 ms to open: one per thread, kept
        con = _local.con = duckdb.connect()
    con.register("_rows", table)
    try:
        rows = con.execute(f"SELECT {KEY_SQL}, {DIGEST_SQL} FROM _rows").fetchall()
    finally:
        con.unregister("_rows")
    return [k for k, _ in rows], [d for _, d in rows]


_local = threading.local()


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
