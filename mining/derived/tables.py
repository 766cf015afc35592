"""The rows of the derived layer for a set of dossiers, from all of their raw events.

The definitions are mining's own (``mining.log``: the scan of ``log_base``, the owners,
``build_dossier_tables``): the layer adds only what does not depend on which files the
events sit in or on the rest of the log:

- ``steps``: ``mining.log``'s ``steps`` without ``_row`` (a position in the scanned
  files, which a compaction changes); key ``(case_id, seq)``.
- ``cases``: ``mining.log``'s ``cases`` without ``finished`` (it looks at the whole loaded
  log: a reader computes it over its selection, see ``FINISHED_SQL``), plus
  ``variant_key``, ``reworked``, ``supplement_requests``, ``cycle_working_days`` and
  ``procedures`` (how many procedure codes its events carry: see ``update._partitions``).

Every row depends on its own dossier's events only; that is what lets a batch recompute
just the dossiers it touches.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from dvcflow.settings import get_settings
from ingest.store import READABLE_SQL
from ingest.store_facts import StoreFacts, parquet_source
from mining.deadlines import SUPPLEMENT_REQUEST
from mining.derived.calendar import register_calendar, working_days_sql
from mining.log import base_scan_sql, build_dossier_tables, build_owners
from mining.rework import REWORKED_SQL
from sample_logs.workdays import WorkCalendar

# Read as if ids repeat and timestamps tie: the dedup window and the ordering by source
# order always run. Without repeats or ties they give the order mining's shortcut gives.
_FACTS = StoreFacts(repeated_ids=True, same_time=True, due_dates=True, source_order=True)
# ``cases.finished`` of ``mining.log`` over a selection ``cases`` of the layer
FINISHED_SQL = "outcome IS NOT NULL OR NOT (SELECT bool_or(outcome IS NOT NULL) FROM cases)"
_TS = pa.timestamp("us", tz="UTC")
STEPS_SCHEMA = pa.schema(
    [
        ("case_id", pa.string()), ("activity", pa.string()), ("org_unit", pa.string()),
        ("resource", pa.string()), ("channel", pa.string()), ("start_ts", _TS),
        ("end_ts", _TS), ("has_start", pa.bool_()), ("seq", pa.int64()),
        ("service_s", pa.float64()), ("prev_activity", pa.string()),
        ("prev_org_unit", pa.string()), ("prev_end_ts", _TS), ("wait_s", pa.float64()),
    ]
)  # fmt: skip
CASES_SCHEMA = pa.schema(
    [
        ("case_id", pa.string()), ("procedure_code", pa.string()),
        ("province_code", pa.string()), ("commune_code", pa.string()),
        ("org_unit", pa.string()), ("channel", pa.string()), ("first_ts", _TS),
        ("last_ts", _TS), ("duration_s", pa.float64()), ("outcome", pa.string()),
        ("events", pa.int64()), ("steps", pa.int64()), ("trace", pa.list_(pa.string())),
        ("due_attr", _TS), ("variant_key", pa.string()), ("reworked", pa.bool_()),
        ("supplement_requests", pa.int64()), ("cycle_working_days", pa.float64()),
        ("procedures", pa.int64()),
    ]
)  # fmt: skip
_IDS_PER_QUERY = 20_000  # literal IN lists longer than this are split


def in_list(ids: Sequence[str]) -> str:
    """A literal ``IN`` list: DuckDB pushes it into the Parquet scan (a join would not)."""
    return ", ".join("'" + i.replace("'", "''") + "'" for i in ids)


def derive_rows(
    con: duckdb.DuckDBPyConnection, files: Sequence[Path], case_ids: Sequence[str] | None
) -> tuple[pa.Table, pa.Table]:
    """(cases, steps) of ``case_ids`` (None: every dossier) from the events in ``files``."""
    if not files:
        return CASES_SCHEMA.empty_table(), STEPS_SCHEMA.empty_table()
    source = parquet_source(files)
    if case_ids is None:
        wheres = [READABLE_SQL]
    else:
        ids = sorted(set(case_ids))
        chunks = [ids[i : i + _IDS_PER_QUERY] for i in range(0, len(ids), _IDS_PER_QUERY)]
        wheres = [f"{READABLE_SQL} AND case_id IN ({in_list(c)})" for c in chunks]
        if not wheres:
            return CASES_SCHEMA.empty_table(), STEPS_SCHEMA.empty_table()
    scans = " UNION ALL ".join(base_scan_sql(source, w, _FACTS) for w in wheres)
    con.execute(f"CREATE OR REPLACE TABLE log_base AS {scans}")
    if con.execute("SELECT count(*) FROM log_base").fetchone()[0] == 0:
        return CASES_SCHEMA.empty_table(), STEPS_SCHEMA.empty_table()
    build_owners(con)
    build_dossier_tables(con)
    steps = con.execute(
        f"SELECT {', '.join(STEPS_SCHEMA.names)} FROM steps ORDER BY case_id, seq"
    ).to_arrow_table()
    return _case_rows(con).cast(CASES_SCHEMA), steps.cast(STEPS_SCHEMA)


def _case_rows(con: duckdb.DuckDBPyConnection) -> pa.Table:
    settings = get_settings()
    lo, hi = con.execute(
        "SELECT year(timezone($tz, min(first_ts))), year(timezone($tz, max(last_ts))) FROM cases",
        {"tz": settings.timezone},
    ).fetchone()
    register_calendar(con, WorkCalendar(), lo, hi)
    joins, wd = working_days_sql("c.first_ts", "c.last_ts", settings.timezone)
    return con.execute(
        f"""
        WITH sup AS (
            SELECT case_id, count(*) FILTER (WHERE activity = $req) AS n FROM steps GROUP BY ALL
        ), pr AS (    -- procedures the dossier's events name: where a derive looks for them
            SELECT case_id, count(DISTINCT procedure_code) AS n FROM log_base GROUP BY ALL
        )
        SELECT c.case_id, procedure_code, province_code, commune_code, org_unit, channel,
               first_ts, last_ts, duration_s, outcome, events, steps, trace, due_attr,
               md5(array_to_string(trace, chr(31))) AS variant_key,
               {REWORKED_SQL} AS reworked,
               coalesce(sup.n, 0)::BIGINT AS supplement_requests,
               {wd} AS cycle_working_days, pr.n AS procedures
        FROM cases c LEFT JOIN sup USING (case_id) JOIN pr USING (case_id) {joins}
        ORDER BY c.case_id
        """,
        {"req": SUPPLEMENT_REQUEST},
    ).to_arrow_table()
