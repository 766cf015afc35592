"""Load a filtered log from the store into DuckDB: the one place mining reads events.

``load_log`` returns a DuckDB connection holding three tables that every analysis shares,
so the store is scanned once per analysis whatever its size. They live in the connection's
own in-memory database, not in its TEMP schema, so that ``cursor`` connections can run
analyses side by side over them:

- ``log_base`` (and the view ``log`` with every store column): the filtered,
  deduplicated events, with an order key ``ord`` inside the dossier;
- ``steps``: one row per activity instance (a ``start`` paired with its ``complete``), with
  the waiting time since the previous instance ended, as pm4py's performance DFG measures it;
- ``cases``: one row per dossier.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from dvcflow.errors import FilterError, NoMatch
from dvcflow.settings import Settings, or_environment
from ingest.owner import owners_sql
from ingest.schema import STORE_COLUMNS, STORE_SCHEMA
from ingest.store import DEDUP_SQL, READABLE_SQL, EventStore
from ingest.store_facts import StoreFacts, parquet_source
from mining.filters import LogFilter

# Columns of ``cases`` (documented in docs/internals.md; reform and KPIs read them).
CASE_COLUMNS = (
    "case_id",
    "procedure_code",
    "province_code",
    "commune_code",
    "org_unit",  # the receiving unit: org unit of the first event
    "channel",  # the submission channel: channel of the first event
    "first_ts",
    "last_ts",
    "duration_s",
    "outcome",  # last non-null outcome
    "finished",  # has an outcome, or the log carries no outcome at all (historical logs)
    "events",
    "steps",
    "trace",  # list of activities, in step order
    "due_attr",  # the source's due date (attribute due_date), when given
)


def _case_filter_sql(flt: LogFilter) -> tuple[list[str], dict[str, object]]:
    """HAVING conditions that keep whole dossiers, and their parameters. A location keeps
    a dossier by its owner (table ``dossier_owners``, ``ingest.owner``), never because
    some event of it names that location."""
    conds: list[str] = []
    params: dict[str, object] = {}
    owner = [
        f"{column} = ${column}"
        for column, value in (
            ("province_code", flt.province),
            ("commune_code", flt.commune),
            ("org_unit", flt.org_unit),
        )
        if value is not None
    ]
    if owner:
        conds.append(f"case_id IN (SELECT case_id FROM dossier_owners WHERE {' AND '.join(owner)})")
        params.update(
            {
                k: v
                for k, v in (
                    ("province_code", flt.province),
                    ("commune_code", flt.commune),
                    ("org_unit", flt.org_unit),
                )
                if v is not None
            }
        )
    if flt.date_from is not None:
        conds.append("min(timestamp)::DATE >= $date_from")
        params["date_from"] = flt.date_from
    if flt.date_to is not None:
        conds.append("min(timestamp)::DATE <= $date_to")
        params["date_to"] = flt.date_to
    if flt.channel is not None:
        conds.append("arg_min(channel, ord) = $channel")
        params["channel"] = flt.channel
    return conds, params


def connect(settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection, with its own in-memory database, in the procedures' local time
    zone (dates are local dates) and with the threads and memory of ``settings`` (without:
    the environment's, for notebooks)."""
    settings = or_environment(settings)
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{settings.timezone}'")
    if settings.mining_threads:
        con.execute(f"SET threads = {int(settings.mining_threads)}")
    if settings.mining_memory_limit:
        con.execute(f"SET memory_limit = '{settings.mining_memory_limit}'")
    # spill (sorts, aggregates) to the system temp folder, never into the working directory
    spill = Path(tempfile.gettempdir()) / "dvcflow-duckdb"
    con.execute(f"SET temp_directory = '{spill}'")
    con.execute("SET preserve_insertion_order = false")
    con.register("_dvc_empty_events", STORE_SCHEMA.empty_table())
    return con


def cursor(con: duckdb.DuckDBPyConnection, timezone: str) -> duckdb.DuckDBPyConnection:
    """A second connection to ``con``'s database, for a query running beside ``con``'s: it
    sees ``log_base``, ``steps`` and ``cases`` (not TEMP objects) and has the same time
    zone (a session setting: ``con``'s, ``timezone``, given by the caller because ``con``
    may be busy in another thread)."""
    cur = con.cursor()
    cur.execute(f"SET TimeZone = '{timezone}'")
    return cur


def timezone_of(con: duckdb.DuckDBPyConnection) -> str:
    """The time zone ``con`` was opened in (``connect``): the one its local dates are in."""
    return con.execute("SELECT current_setting('TimeZone')").fetchone()[0]


# Store columns mining reads, kept in the temp table ``log_base``; ``log`` (a view) adds
# back the wide ones mining never reads (``EXTRA_COLUMNS``) by a second read of the same
# files, joined on each row's position in them.
BASE_COLUMNS = (
    "case_id",
    "procedure_code",
    "activity",
    "timestamp",
    "lifecycle",
    "org_unit",
    "province_code",
    "commune_code",
    "channel",
    "resource",
    "outcome",
    "ingested_at",  # for the dossier's owner (``ingest.owner``)
)
# actor_role: read by reform through ``log`` only, never by ``analyze``
EXTRA_COLUMNS = ("event_id", "applicant_ref", "attributes", "actor_role", "source")
# a row's place in the scanned files: file index (high 32 bits), row in the file
_ROW_KEY = "(file_index::BIGINT << 32) | file_row_number::BIGINT"


def base_scan_sql(source: str, where: str | None, facts: StoreFacts) -> str:
    """The SELECT of ``log_base``'s rows: ``BASE_COLUMNS``, ``due_attr``, the row key and
    the order key ``ord``.

    A dossier's events are ordered by timestamp, then by their place in the source
    (``source_order``: the row of the imported file, the offset of the streamed message),
    as pm4py keeps a file's order for equal timestamps; no figure depends on how event ids
    are spelled. Stores written before ``source_order`` existed fall back to start before
    complete, then ``event_id``. The dedup window (first ingested copy of each
    ``event_id``, as ``EventStore.scan_sql``) runs only when an id repeats. When no two
    events of a dossier share a timestamp, ``ord`` is the timestamp itself (no sort);
    otherwise it is the position from a window. The wide ``attributes`` column is read for
    ``due_attr`` only when some event names a due date.
    """
    columns = ", ".join(BASE_COLUMNS)
    dedup = DEDUP_SQL if facts.repeated_ids else ""
    if facts.same_time or facts.repeated_ids:
        lc = "CASE WHEN lifecycle = 'start' THEN 0 ELSE 1 END"
        source_order = "source_order, " if facts.source_order else ""
        ord_sql = (
            "row_number() OVER (PARTITION BY case_id "
            f"ORDER BY timestamp, {source_order}{lc}, event_id)"
        )
    else:
        ord_sql = "epoch_us(timestamp)"
    due = "NULL::TIMESTAMPTZ"
    if facts.due_dates:
        due = """CASE WHEN attributes LIKE '%due_date%'
                      THEN TRY_CAST(attributes->>'$.due_date' AS TIMESTAMPTZ) END"""
    return f"""
        SELECT {columns}, {due} AS due_attr, _row, {ord_sql} AS ord
        FROM (
            SELECT *, {_ROW_KEY} AS _row FROM {source}
            {f"WHERE {where}" if where else ""} {dedup}
        )
    """


def load_log(
    store: EventStore,
    flt: LogFilter,
    con: duckdb.DuckDBPyConnection | None = None,
    settings: Settings | None = None,
) -> duckdb.DuckDBPyConnection:
    """Tables ``log_base``, ``steps`` and ``cases``, and view ``log``, for the dossiers
    ``flt`` selects.

    Raises ``FilterError`` (one sentence naming the filter) when the store is empty, the
    procedure is not in it, or nothing matches.
    """
    if store.is_empty():
        raise FilterError("the event store is empty: import or stream events.")
    procedures = [flt.procedure] if flt.procedure else None
    # One file list for the facts and both reads of the analysis (the second one is the
    # ``log`` view, joined on file indexes); compaction keeps merged files for a grace
    # period, so they are still there for it.
    files = store.live_files(procedures)
    if not files:
        known = sorted({f.parent.parent.name.removeprefix("procedure=") for f in store.files()})
        shown = ", ".join(known[:10]) + (" …" if len(known) > 10 else "")
        raise FilterError(
            f"no such procedure in the store (it has: {shown}).", "procedure", flt.procedure
        )
    con = con or connect(settings)
    where = READABLE_SQL + (" AND procedure_code = $procedure" if flt.procedure else "")
    source = parquet_source(files)
    scan = base_scan_sql(source, where, store.facts(procedures, con, files))
    scan_params = {"procedure": flt.procedure} if flt.procedure else {}
    con.execute(f"CREATE OR REPLACE TABLE log_base AS {scan}", scan_params)
    build_owners(con)
    conds, params = _case_filter_sql(flt)
    if conds:
        con.execute(
            f"""
            CREATE OR REPLACE TABLE log_base AS
            SELECT * FROM log_base WHERE case_id IN (
                SELECT case_id FROM log_base GROUP BY case_id HAVING {" AND ".join(conds)}
            )
            """,
            params,
        )
    n = con.execute("SELECT count(*) FROM log_base").fetchone()[0]
    if n == 0:
        raise NoMatch(f"no dossier matches the filter ({flt.describe()}).")
    _create_log_view(con, source)
    build_dossier_tables(con)
    return con


def build_dossier_tables(con: duckdb.DuckDBPyConnection) -> None:
    """``steps`` and ``cases`` from ``log_base`` and ``dossier_owners``: the one definition
    of both, shared by ``load_log`` and the derived layer (``mining.derived``). Every row
    depends on its own dossier's events only, except ``cases.finished``, which looks at
    the whole loaded log."""
    _build_steps(con)
    _build_cases(con)
    _cases_at_owner(con)


# ``ingest.owner.OWNER_ORDER`` on ``log_base``, whose ``ord`` is the dossier order
LOG_OWNER_ORDER = "ingested_at, ord"


def build_owners(con: duckdb.DuckDBPyConnection) -> None:
    """Table ``dossier_owners`` (``ingest.owner``) of the dossiers in ``log_base``."""
    con.execute(
        f"CREATE OR REPLACE TABLE dossier_owners AS {owners_sql('log_base', LOG_OWNER_ORDER)}"
    )


def _cases_at_owner(con: duckdb.DuckDBPyConnection) -> None:
    """A dossier's province, commune and receiving unit are its owner's (``ingest.owner``):
    the ones its filters keep it by and every page shows."""
    con.execute(
        """
        UPDATE cases SET province_code = o.province_code, commune_code = o.commune_code,
                         org_unit = o.org_unit
        FROM dossier_owners o WHERE cases.case_id = o.case_id
        """
    )


def narrow_log(
    con: duckdb.DuckDBPyConnection, flt: LogFilter, settings: Settings | None = None
) -> duckdb.DuckDBPyConnection:
    """A new connection with ``load_log``'s tables and views for the dossiers of ``flt``
    among those ``con`` holds, without reading the store again.

    On a ``con`` loaded for ``flt.procedure`` alone it equals ``load_log(store, flt)``:
    filters keep whole dossiers, and ``steps`` and ``cases`` are per dossier, so their rows
    are copied, not rebuilt (only ``cases.finished`` looks at the whole log, and is
    recomputed). A province, commune, channel or date pick on a loaded procedure then costs
    a filter of rows in memory instead of a read of its files. Raises ``FilterError`` when
    nothing matches.
    """
    conds, params = _case_filter_sql(flt)
    if flt.procedure is not None:
        conds.append("arg_min(procedure_code, ord) = $procedure")
        params["procedure"] = flt.procedure
    having = " AND ".join(conds) or "true"
    keep = con.execute(
        f"SELECT case_id FROM log_base GROUP BY case_id HAVING {having}", params
    ).to_arrow_table()
    if keep.num_rows == 0:
        raise NoMatch(f"no dossier matches the filter ({flt.describe()}).")
    out = connect(settings)
    con.register("_dvc_keep", keep)
    try:
        for table in ("log_base", "steps", "cases", "dossier_owners"):
            rows = con.execute(
                f"SELECT * FROM {table} WHERE case_id IN (SELECT case_id FROM _dvc_keep)"
            ).to_arrow_table()
            out.register("_dvc_rows", rows)
            out.execute(f"CREATE TABLE {table} AS SELECT * FROM _dvc_rows")
            out.unregister("_dvc_rows")
        source = con.execute("SELECT source FROM _log_source").fetchone()[0]
    finally:
        con.unregister("_dvc_keep")
    out.execute(
        "UPDATE cases SET finished = outcome IS NOT NULL"
        " OR NOT (SELECT bool_or(outcome IS NOT NULL) FROM log_base)"
    )
    _create_log_view(out, source)
    return out


def _create_log_view(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """View ``log_extra``: the wide columns (``EXTRA_COLUMNS``) by row key ``_row``, a second
    read of the same files; join it to ``log_base`` or ``steps`` on ``_row``. View ``log``:
    ``log_base`` with every store column but ``ingested_at`` and ``source_order``, in store
    order, then ``ord`` as the 1-based position in the dossier, which costs a window besides
    that read. Both are paid only by the queries that use them."""
    extra = ", ".join(EXTRA_COLUMNS)
    columns = ", ".join(
        f"x.{c}" if c in EXTRA_COLUMNS else f"b.{c}"
        for c in STORE_COLUMNS
        if c not in ("ingested_at", "source_order")
    )
    # the files read, for ``narrow_log``'s own views
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _log_source AS SELECT $source AS source", {"source": source}
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW log_extra AS SELECT {_ROW_KEY} AS _row, {extra} FROM {source}"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW log AS
        SELECT {columns}, row_number() OVER (PARTITION BY b.case_id ORDER BY b.ord) AS ord
        FROM log_base b JOIN log_extra x USING (_row)
        """
    )


def _build_steps(con: duckdb.DuckDBPyConnection) -> None:
    """Activity instances: a ``complete`` pairs with the ``start`` right before it (same
    activity, same dossier); a ``start`` with no ``complete`` yet is an open instance.

    Most logs never interleave: each ``start`` is directly followed, in its dossier, by its
    ``complete`` (or is the dossier's last event). One window over the dossier's events then
    gives pairs, positions and predecessors (``_build_steps_sequential``); only when some
    ``start`` breaks that rule are the two sorts of the general pass paid."""
    if not _build_steps_sequential(con):
        _build_steps_general(con)


# Under the sequential rule the instances are the non-start events plus a trailing start; a
# paired complete's predecessor is two events back (one back is its own start), any other
# instance's is one back; and instance order is event order, as (start_ts, ord) orders it.
_SEQUENTIAL_STEPS = """
    CREATE OR REPLACE TABLE steps AS
    WITH e AS (
        SELECT case_id, activity, org_unit, resource, channel, lifecycle, timestamp, _row,
               lag(activity) OVER w AS a1, lag(lifecycle) OVER w AS l1,
               lag(timestamp) OVER w AS t1, lag(org_unit) OVER w AS o1,
               lag(activity, 2) OVER w AS a2, lag(timestamp, 2) OVER w AS t2,
               lag(org_unit, 2) OVER w AS o2,
               lead(activity) OVER w AS na, lead(lifecycle) OVER w AS nl,
               count(*) FILTER (WHERE lifecycle IS DISTINCT FROM 'start') OVER w AS done
        FROM log_base
        WINDOW w AS (PARTITION BY case_id ORDER BY ord ROWS UNBOUNDED PRECEDING)
    ), p AS (
        SELECT *, coalesce(lifecycle IS DISTINCT FROM 'start' AND l1 = 'start'
                           AND a1 = activity, false) AS paired
        FROM e
        WHERE lifecycle IS DISTINCT FROM 'start' OR nl IS DISTINCT FROM 'complete'
              OR na IS DISTINCT FROM activity
    )
    SELECT case_id, activity, org_unit, resource, channel,
           CASE WHEN paired THEN t1 ELSE timestamp END AS start_ts,
           CASE WHEN lifecycle IS DISTINCT FROM 'start' THEN timestamp END AS end_ts,
           coalesce(paired OR lifecycle = 'start', false) AS has_start,
           done + (lifecycle = 'start')::BIGINT AS seq,
           CASE WHEN paired THEN (epoch_us(timestamp) - epoch_us(t1)) / 1e6 END AS service_s,
           CASE WHEN paired THEN a2 ELSE a1 END AS prev_activity,
           CASE WHEN paired THEN o2 ELSE o1 END AS prev_org_unit,
           CASE WHEN paired THEN t2 ELSE t1 END AS prev_end_ts,
           (greatest(epoch_us(start_ts), epoch_us(prev_end_ts)) - epoch_us(prev_end_ts)) / 1e6
               AS wait_s,
           _row, lifecycle = 'start' AND nl IS NOT NULL AS _interleaved
    FROM p
"""


def _build_steps_sequential(con: duckdb.DuckDBPyConnection) -> bool:
    """``steps`` in one window, when no ``start`` is followed by another event than its own
    ``complete``; False (and no table) otherwise."""
    con.execute(_SEQUENTIAL_STEPS)
    if con.execute("SELECT bool_or(_interleaved) FROM steps").fetchone()[0]:
        return False
    con.execute("ALTER TABLE steps DROP COLUMN _interleaved")
    return True


def _build_steps_general(con: duckdb.DuckDBPyConnection) -> None:
    """``steps`` for any log: a window per (dossier, activity) pairs events, a second per
    dossier orders the instances."""
    con.execute(
        """
        CREATE OR REPLACE TABLE steps AS
        WITH started AS (SELECT DISTINCT activity FROM log_base WHERE lifecycle = 'start'),
        marked AS (   -- only activities that ever log a start need the pairing window
            SELECT case_id, activity, org_unit, resource, channel, lifecycle, timestamp, ord,
                   _row, lag(lifecycle) OVER w AS prev_lc, lag(timestamp) OVER w AS prev_ts,
                   lead(lifecycle) OVER w AS next_lc
            FROM log_base WHERE activity IN (SELECT activity FROM started)
            WINDOW w AS (PARTITION BY case_id, activity ORDER BY ord)
            UNION ALL
            SELECT case_id, activity, org_unit, resource, channel, lifecycle, timestamp, ord,
                   _row, NULL::VARCHAR, NULL::TIMESTAMPTZ, NULL::VARCHAR
            FROM log_base WHERE activity NOT IN (SELECT activity FROM started)
        ), inst AS (  -- a complete (paired or not), or a start with no complete after it
            SELECT case_id, activity, org_unit, resource, channel, ord, _row,
                   CASE WHEN prev_lc = 'start' THEN prev_ts ELSE timestamp END AS start_ts,
                   CASE WHEN lifecycle IS DISTINCT FROM 'start' THEN timestamp END AS end_ts,
                   coalesce(prev_lc = 'start' OR lifecycle = 'start', false) AS has_start
            FROM marked
            WHERE lifecycle IS DISTINCT FROM 'start' OR next_lc IS DISTINCT FROM 'complete'
        )
        SELECT case_id, activity, org_unit, resource, channel, start_ts, end_ts, has_start,
               row_number() OVER c AS seq,
               CASE WHEN has_start THEN (epoch_us(end_ts) - epoch_us(start_ts)) / 1e6 END
                   AS service_s,
               lag(activity) OVER c AS prev_activity,
               lag(org_unit) OVER c AS prev_org_unit,
               lag(end_ts) OVER c AS prev_end_ts,
               (greatest(epoch_us(start_ts), epoch_us(lag(end_ts) OVER c))
                - epoch_us(lag(end_ts) OVER c)) / 1e6 AS wait_s,
               _row
        FROM inst
        WINDOW c AS (PARTITION BY case_id ORDER BY start_ts, ord)
        """
    )


def _build_cases(con: duckdb.DuckDBPyConnection) -> None:
    """One row per dossier. ``trace`` is spelled out once per variant: an ordered ``list``
    per dossier sorts every dossier's steps, while a fingerprint (step count and two
    order-sensitive 64-bit XOR hashes of (position, activity)) is a plain aggregate; one
    dossier per fingerprint then lists its steps."""
    con.execute(
        """
        CREATE OR REPLACE TABLE cases AS
        WITH ev AS (
            SELECT case_id,
                   arg_min(procedure_code, ord) AS procedure_code,  -- the first registration's
                   arg_min(province_code, ord) FILTER (WHERE province_code IS NOT NULL)
                       AS province_code,
                   arg_min(commune_code, ord) FILTER (WHERE commune_code IS NOT NULL)
                       AS commune_code,
                   arg_min(org_unit, ord) AS org_unit,
                   arg_min(channel, ord) AS channel,
                   min(timestamp) AS first_ts,
                   max(timestamp) AS last_ts,
                   arg_max(outcome, ord) FILTER (WHERE outcome IS NOT NULL) AS outcome,
                   count(*) AS events,
                   arg_min(due_attr, ord) FILTER (WHERE due_attr IS NOT NULL) AS due_attr
            FROM log_base GROUP BY case_id
        ), st AS (    -- a fingerprint of each dossier's step sequence (see the docstring)
            SELECT case_id, count(*) AS steps, bit_xor(hash(seq, activity)) AS h1,
                   bit_xor(hash(activity, seq, 'dvcflow')) AS h2
            FROM steps GROUP BY case_id
        ), rep AS (   -- one dossier per fingerprint spells the trace out for all
            SELECT steps, h1, h2, min(case_id) AS case_id FROM st GROUP BY ALL
        ), tr AS (
            SELECT rep.steps, rep.h1, rep.h2, list(s.activity ORDER BY s.seq) AS trace
            FROM rep JOIN steps s USING (case_id) GROUP BY ALL
        )
        SELECT ev.case_id, procedure_code, province_code, commune_code, org_unit, channel,
               first_ts, last_ts, (epoch_us(last_ts) - epoch_us(first_ts)) / 1e6 AS duration_s,
               outcome,
               outcome IS NOT NULL
                   OR NOT (SELECT bool_or(outcome IS NOT NULL) FROM log_base) AS finished,
               events, st.steps, tr.trace, due_attr
        FROM ev JOIN st USING (case_id) JOIN tr USING (steps, h1, h2)
        """
    )


def cut_log(con: duckdb.DuckDBPyConnection, as_of: object) -> None:
    """The loaded log as it was at ``as_of`` (an aware datetime): events after it are
    dropped and ``steps`` and ``cases`` rebuilt, so a dossier finished later is open again.
    ``dvcflow warn --as-of`` replays the store this way. Raises ``FilterError`` when no
    event is that old."""
    con.execute("DELETE FROM log_base WHERE timestamp > $as_of", {"as_of": as_of})
    if con.execute("SELECT count(*) FROM log_base").fetchone()[0] == 0:
        raise FilterError("no event of the filter is that old.", "as_of", as_of)
    _build_steps(con)
    _build_cases(con)


def case_ids(con: duckdb.DuckDBPyConnection, flt: LogFilter) -> list[str]:
    """The dossiers of ``flt`` among those ``con`` holds (the filters of ``load_log``)."""
    conds, params = _case_filter_sql(flt)
    if flt.procedure is not None:
        conds.append("arg_min(procedure_code, ord) = $procedure")
        params["procedure"] = flt.procedure
    having = " AND ".join(conds) or "true"
    rows = con.execute(
        f"SELECT case_id FROM log_base GROUP BY case_id HAVING {having}", params
    ).fetchall()
    return [r[0] for r in rows]
