"""Who owns a dossier: the one definition every writer check and every reader shares.

A dossier belongs to the province, commune and receiving unit of its first registration:
the first event the store took for its ``case_id`` (earliest ``ingested_at``; among events
stored together, the first in dossier order); a level that event leaves empty comes from
the next event that names it. Later events, whoever sends them and whatever
location they carry, never move it, so an event posted with someone else's case id can
neither take their dossier over nor lock its owner out.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from dvcflow.access import Owner
from ingest.store import EventStore
from ingest.store_facts import parquet_source

OWNER_FIELDS = ("province_code", "commune_code", "org_unit")
# first registration: first stored, then dossier order (start before complete, then id)
OWNER_ORDER = "ingested_at, timestamp, CASE WHEN lifecycle = 'start' THEN 0 ELSE 1 END, event_id"


def owners_sql(rows: str, order: str = OWNER_ORDER) -> str:
    """``case_id`` and the owner's ``OWNER_FIELDS`` per dossier of ``rows`` (a table name
    or a parenthesised SELECT holding the store columns used by ``order``)."""
    picks = ", ".join(
        f"first({f} ORDER BY {order}) FILTER (WHERE {f} IS NOT NULL) AS {f}" for f in OWNER_FIELDS
    )
    return f"SELECT case_id, {picks} FROM {rows} GROUP BY case_id"


def find_owners(
    store: EventStore, case_ids: Iterable[str], con: duckdb.DuckDBPyConnection | None = None
) -> dict[str, Owner]:
    """The owners of those of ``case_ids`` the store already holds (absent: a new dossier)."""
    ids = sorted(set(case_ids))
    files = store.files()
    if not ids or not files:
        return {}
    con = con or duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = (
        f"(SELECT case_id, ingested_at, timestamp, lifecycle, event_id, {', '.join(OWNER_FIELDS)}"
        f" FROM {parquet_source(files)} WHERE case_id IN (SELECT unnest($ids)))"
    )
    found = con.execute(owners_sql(rows), {"ids": ids}).fetchall()
    return {case_id: Owner(*fields) for case_id, *fields in found}
