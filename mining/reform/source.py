"""Where reform reads its log: the mining core's ``steps`` and ``cases`` tables."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import duckdb
import pandas as pd

from dvcflow.errors import FilterError
from dvcflow.settings import Settings, or_environment
from ingest.store import EventStore
from mining.deadlines import build_deadlines
from mining.filters import LogFilter
from mining.log import load_log
from mining.reform.catalog_view import procedure_deadline
from mining.reform.steps import StepLog, build_step_log

# The event attributes reform and the service index read (docs/internals.md), typed.
ATTRIBUTES = {
    "fee_paid_online": "BOOLEAN",
    "e_result": "BOOLEAN",
    "digitised": "BOOLEAN",
    "data_reused": "BOOLEAN",
    "vneid_verified": "BOOLEAN",
    "complaint": "BOOLEAN",
    "satisfaction": "DOUBLE",
}
_ATTRIBUTE_SQL = ", ".join(
    f"TRY_CAST(json_extract_string(x.attributes, '$.{key}') AS {kind}) AS {key}"
    for key, kind in ATTRIBUTES.items()
)

# Step instances of ``mining.log`` with the fields of their own completing event, found by
# its row key: no window, no grouping, and the wide columns read once (``log_extra``).
_STEPS_SQL = f"""
SELECT s.case_id, s.activity, s.org_unit, s.resource, s.channel, s.start_ts,
       s.end_ts AS complete_ts, s.prev_end_ts AS prev_complete, s.has_start, s.seq,
       coalesce(s.service_s, 0) / 3600.0 AS service_h, coalesce(s.wait_s, 0) / 3600.0 AS wait_h,
       s.prev_activity, s.prev_org_unit,
       b.procedure_code, x.actor_role, b.outcome, {_ATTRIBUTE_SQL}
FROM steps s JOIN log_base b USING (_row) JOIN log_extra x USING (_row)
WHERE s.end_ts IS NOT NULL
ORDER BY s.case_id, s.seq
"""

_CASES_SQL = """
SELECT case_id, procedure_code, province_code, commune_code, org_unit AS unit, channel,
       first_ts AS received, last_ts AS ended, duration_s / 3600.0 AS cycle_h, outcome,
       finished, due_attr
FROM cases ORDER BY case_id
"""


def load_steps(store: EventStore, flt: LogFilter, settings: Settings | None = None) -> StepLog:
    """The filtered log (``mining.log.load_log``) as a ``StepLog``, under ``settings``
    (without: the environment's, for notebooks)."""
    settings = or_environment(settings)
    return steps_from(load_log(store, flt, settings=settings), flt, settings)


def steps_from(
    con: duckdb.DuckDBPyConnection, flt: LogFilter, settings: Settings | None = None
) -> StepLog:
    """A ``StepLog`` from a connection that ``load_log`` filled."""
    settings = or_environment(settings)
    return build_step_log(*step_frames(con, flt, settings), settings)


def step_frames(
    con: duckdb.DuckDBPyConnection, flt: LogFilter, settings: Settings | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """What ``build_step_log`` takes, read from ``con``: the steps with their completing
    events, the dossiers with their deadline status, and the log's last moment. Apart from
    ``steps_from`` so that a caller sharing ``con`` holds it only for the reading."""
    steps = con.sql(_STEPS_SQL).df()
    cases = con.sql(_CASES_SQL).df().set_index("case_id")
    if steps.empty:
        raise FilterError(f"no finished step in the dossiers selected by ({flt.describe()}).")
    as_of = con.execute("SELECT max(last_ts) FROM cases").fetchone()[0]  # not ``log``: a re-read
    settings = or_environment(settings)
    deadlines = {p: procedure_deadline(p, settings) for p in cases["procedure_code"].unique()}
    known = {p: d for p, d in deadlines.items() if d is not None}
    build_deadlines(con, known, as_of=as_of, settings=settings)
    status = con.sql("SELECT case_id, status FROM deadlines").df().set_index("case_id")
    cases["status"] = status["status"].reindex(cases.index)
    return steps, cases, as_of


def peer_view(
    flt: LogFilter, compare_outside: bool = True
) -> tuple[LogFilter, dict[str, str] | None, str]:
    """(the log to read, the focus dossiers' location, the unit column compared).

    A province (commune) filter focuses on that province (commune) and, when the viewer may
    read the others (``compare_outside``), reads them too so that its waits can be set
    against theirs; otherwise units are compared inside the filter."""
    if compare_outside and flt.commune:
        return replace(flt, commune=None), {"commune_code": flt.commune}, "commune_code"
    if compare_outside and flt.province:
        return replace(flt, province=None), {"province_code": flt.province}, "province_code"
    if flt.commune:
        return flt, None, "unit"
    return flt, None, "commune_code" if flt.province else "province_code"


def candidate_options(by: str, focus: dict[str, str] | None) -> dict:
    """``candidates_from`` keyword options, defaults left out so that a figure cached (or
    warmed) without options is the same figure."""
    options: dict = {}
    if by != "province_code":
        options["by"] = by
    if focus:
        options["focus"] = tuple(sorted(focus.items()))
    return options


def require_procedure(flt: LogFilter, verb: str) -> str:
    if not flt.procedure:
        raise FilterError(f"{verb} needs one procedure (one at a time).", "procedure")
    return flt.procedure
