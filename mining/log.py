"""Load a filtered log from the store into DuckDB: the one place mining reads events.

``load_log`` returns a DuckDB connection holding three temp tables that every analysis
shares, so the store is scanned once per analysis whatever its size:

- ``log``: the filtered, deduplicated events, with ``ord`` = position inside the dossier;
- ``steps``: one row per activity instance (a ``start`` paired with its ``complete``), with
  the waiting time since the previous instance ended, as pm4py's performance DFG measures it;
- ``cases``: one row per dossier.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import orjson

from dvcflow.errors import FilterError
from dvcflow.settings import get_settings
from ingest.schema import STORE_COLUMNS, STORE_SCHEMA
from ingest.store import EventStore
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
    """HAVING conditions that keep whole dossiers, and their parameters."""
    conds: list[str] = []
    params: dict[str, object] = {}
    if flt.province is not None:
        conds.append("bool_or(province_code = $province)")
        params["province"] = flt.province
    if flt.commune is not None:
        conds.append("bool_or(commune_code = $commune)")
        params["commune"] = flt.commune
    if flt.org_unit is not None:
        conds.append("bool_or(org_unit = $org_unit)")
        params["org_unit"] = flt.org_unit
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


def connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in the procedures' local time zone (dates are local dates)."""
    settings = get_settings()
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


# (data dir, store version, procedures) -> whether those files repeat an event_id
_DUPLICATES: dict[tuple[str, str], bool] = {}
# The same answers on disk, beside the store's partitions, so each CLI run does not count
# again: {"<store version>|<procedures or *>": bool}, the last few versions only.
DUPLICATES_FILE = ".mining-duplicates.json"
_KEEP_VERSIONS = 32


def _repeats_event_ids(
    con: duckdb.DuckDBPyConnection, store: EventStore, source: str, procedures: list[str] | None
) -> bool:
    """Whether ``source`` (the store's files) holds an ``event_id`` twice.

    Counting reads one column of every file; the answer is kept per store version in
    memory and in ``DUPLICATES_FILE`` (a read-only store keeps it in memory only).
    """
    key = f"{store.version()}|{','.join(procedures) if procedures else '*'}"
    mem_key = (str(store.data_dir.resolve()), key)
    if mem_key in _DUPLICATES:
        return _DUPLICATES[mem_key]
    path = store.root / DUPLICATES_FILE
    try:
        known = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    if isinstance(known.get(key), bool):
        answer = known[key]
    else:
        answer = bool(
            con.execute(
                f"SELECT count(*) > count(DISTINCT event_id) FROM (SELECT event_id FROM {source})"
            ).fetchone()[0]
        )
        known = dict(list(known.items())[-(_KEEP_VERSIONS - 1) :]) | {key: answer}
        tmp = path.with_name(f".{DUPLICATES_FILE}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(orjson.dumps(known))
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
    if len(_DUPLICATES) > 64:
        _DUPLICATES.clear()
    _DUPLICATES[mem_key] = answer
    return answer


def _scan_sql(
    con: duckdb.DuckDBPyConnection,
    store: EventStore,
    where: str | None,
    procedures: list[str] | None,
) -> str:
    """The store's SELECT, without the dedup window when no ``event_id`` repeats.

    The window (``EventStore.scan_sql``) sorts every column of every event; whether an id
    repeats is counted once per store version (``_repeats_event_ids``).
    """
    files = store.files()
    if procedures is not None:
        wanted = {store.partition_dir(p, "_").parent for p in procedures}
        files = [f for f in files if f.parent.parent in wanted]
    if not files:
        return store.scan_sql(where, procedures)
    file_list = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    source = f"read_parquet([{file_list}], hive_partitioning = false, union_by_name = true)"
    if _repeats_event_ids(con, store, source, procedures):
        return store.scan_sql(where, procedures)
    columns = ", ".join(STORE_COLUMNS)
    return f"SELECT {columns} FROM {source} {f'WHERE {where}' if where else ''}"


def load_log(
    store: EventStore, flt: LogFilter, con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyConnection:
    """Temp tables ``log``, ``steps`` and ``cases`` for the dossiers ``flt`` selects.

    Raises ``FilterError`` (one sentence naming the filter) when the store is empty, the
    procedure is not in it, or nothing matches.
    """
    if store.is_empty():
        raise FilterError(f"the event store at {store.data_dir} is empty: import or stream events.")
    procedures = [flt.procedure] if flt.procedure else None
    partition = store.partition_dir(flt.procedure, "_").parent if flt.procedure else None
    if partition is not None and not any(f.parent.parent == partition for f in store.files()):
        known = sorted({f.parent.parent.name.removeprefix("procedure=") for f in store.files()})
        shown = ", ".join(known[:10]) + (" …" if len(known) > 10 else "")
        raise FilterError(
            f"--procedure {flt.procedure}: no such procedure in the store at {store.data_dir} "
            f"(it has: {shown})."
        )
    con = con or connect()
    where = "procedure_code = $procedure" if flt.procedure else None
    scan = _scan_sql(con, store, where, procedures)
    scan_params = {"procedure": flt.procedure} if flt.procedure else {}
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE log AS
        SELECT * EXCLUDE (ingested_at), row_number() OVER (
                   PARTITION BY case_id
                   ORDER BY timestamp, CASE WHEN lifecycle = 'start' THEN 0 ELSE 1 END, event_id
               ) AS ord
        FROM ({scan})
        """,
        scan_params,
    )
    conds, params = _case_filter_sql(flt)
    if conds:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE log AS
            SELECT * FROM log WHERE case_id IN (
                SELECT case_id FROM log GROUP BY case_id HAVING {" AND ".join(conds)}
            )
            """,
            params,
        )
    n = con.execute("SELECT count(*) FROM log").fetchone()[0]
    if n == 0:
        raise FilterError(f"no dossier matches the filter ({flt.describe()}).")
    _build_steps(con)
    _build_cases(con)
    return con


def _build_steps(con: duckdb.DuckDBPyConnection) -> None:
    """Activity instances: a ``complete`` pairs with the ``start`` right before it (same
    activity, same dossier); a ``start`` with no ``complete`` yet is an open instance."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE steps AS
        WITH started AS (SELECT DISTINCT activity FROM log WHERE lifecycle = 'start'),
        marked AS (   -- only activities that ever log a start need the pairing window
            SELECT case_id, activity, org_unit, resource, channel, lifecycle, timestamp, ord,
                   lag(lifecycle) OVER w AS prev_lc, lag(timestamp) OVER w AS prev_ts,
                   lead(lifecycle) OVER w AS next_lc
            FROM log WHERE activity IN (SELECT activity FROM started)
            WINDOW w AS (PARTITION BY case_id, activity ORDER BY ord)
            UNION ALL
            SELECT case_id, activity, org_unit, resource, channel, lifecycle, timestamp, ord,
                   NULL::VARCHAR, NULL::TIMESTAMPTZ, NULL::VARCHAR
            FROM log WHERE activity NOT IN (SELECT activity FROM started)
        ), inst AS (
            SELECT case_id, activity, org_unit, resource, channel, ord,
                   CASE WHEN prev_lc = 'start' THEN prev_ts ELSE timestamp END AS start_ts,
                   timestamp AS end_ts,
                   prev_lc = 'start' AS has_start
            FROM marked WHERE lifecycle IS DISTINCT FROM 'start'
            UNION ALL
            SELECT case_id, activity, org_unit, resource, channel, ord,
                   timestamp AS start_ts, NULL AS end_ts, true AS has_start
            FROM marked WHERE lifecycle = 'start' AND next_lc IS DISTINCT FROM 'complete'
        )
        SELECT case_id, activity, org_unit, resource, channel, start_ts, end_ts, has_start,
               row_number() OVER c AS seq,
               CASE WHEN has_start THEN (epoch_us(end_ts) - epoch_us(start_ts)) / 1e6 END
                   AS service_s,
               lag(activity) OVER c AS prev_activity,
               lag(org_unit) OVER c AS prev_org_unit,
               lag(end_ts) OVER c AS prev_end_ts,
               (greatest(epoch_us(start_ts), epoch_us(lag(end_ts) OVER c))
                - epoch_us(lag(end_ts) OVER c)) / 1e6 AS wait_s
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
        CREATE OR REPLACE TEMP TABLE cases AS
        WITH ev AS (
            SELECT case_id,
                   any_value(procedure_code) AS procedure_code,
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
                   arg_min(TRY_CAST(attributes->>'$.due_date' AS TIMESTAMPTZ), ord)
                       FILTER (WHERE attributes LIKE '%due_date%'
                               AND (attributes->>'$.due_date') IS NOT NULL) AS due_attr
            FROM log GROUP BY case_id
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
                   OR NOT (SELECT bool_or(outcome IS NOT NULL) FROM log) AS finished,
               events, st.steps, tr.trace, due_attr
        FROM ev JOIN st USING (case_id) JOIN tr USING (steps, h1, h2)
        """
    )
