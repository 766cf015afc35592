"""Reading the derived layer and today's mining tables the same way, to compare them."""

from __future__ import annotations

import duckdb

from ingest.store import EventStore
from mining.derived.layer import DerivedLayer
from mining.derived.tables import CASES_SCHEMA, STEPS_SCHEMA
from mining.filters import LogFilter
from mining.log import connect, load_log

# the columns both have (``cases.finished`` is the reader's, ``steps._row`` the file layout's)
MINING_CASE_COLUMNS = [
    c
    for c in CASES_SCHEMA.names
    if c
    not in ("variant_key", "reworked", "supplement_requests", "cycle_working_days", "procedures")
]
STEP_COLUMNS = STEPS_SCHEMA.names


def layer_rows(store: EventStore, columns: list[str] | None = None) -> tuple[list, list]:
    """(cases, steps) of the committed layer, sorted by key."""
    con = connect()
    try:
        DerivedLayer(store.data_dir).connect(con)
        cols = ", ".join(columns or CASES_SCHEMA.names)
        cases = con.execute(f"SELECT {cols} FROM derived_cases ORDER BY case_id").fetchall()
        steps = con.execute(
            f"SELECT {', '.join(STEP_COLUMNS)} FROM derived_steps ORDER BY case_id, seq"
        ).fetchall()
        return cases, steps
    finally:
        con.close()


def mining_rows(store: EventStore) -> tuple[list, list]:
    """(cases, steps) as ``mining.log.load_log`` builds them over the whole store."""
    con = load_log(store, LogFilter())
    try:
        cases = con.execute(
            f"SELECT {', '.join(MINING_CASE_COLUMNS)} FROM cases ORDER BY case_id"
        ).fetchall()
        steps = con.execute(
            f"SELECT {', '.join(STEP_COLUMNS)} FROM steps ORDER BY case_id, seq"
        ).fetchall()
        return cases, steps
    finally:
        con.close()


def layer_con(store: EventStore) -> duckdb.DuckDBPyConnection:
    con = connect()
    DerivedLayer(store.data_dir).connect(con)
    return con
