"""One dossier as its case page shows it: its events in process order and its due date.

Both come from the loaded log of the dossier's procedure, so they are what every figure of
that procedure counts: events in the log's own order (timestamp, then their place in the
source, ``mining.log``) and the due date, on-time status and working days used of
``mining.deadlines.build_deadlines`` with the catalog's deadline, "now" for an open dossier
being the log's last event, as in the procedure's analysis.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
from pydantic import BaseModel

from dvcflow.settings import Settings, or_environment
from mining.analysis import catalog_deadlines
from mining.deadlines import DeadlineRules, build_deadlines, supplement_pauses
from mining.log import connect
from sample_logs.workdays import WorkCalendar

EVENT_COLUMNS = (
    "event_id",
    "activity",
    "timestamp",
    "lifecycle",
    "org_unit",
    "channel",
    "actor_role",
    "resource",
    "outcome",
    "attributes",
)


class DossierEvent(BaseModel):
    event_id: str
    activity: str
    timestamp: datetime
    lifecycle: str | None = None
    org_unit: str | None = None
    channel: str | None = None
    actor_role: str | None = None
    resource: str | None = None
    outcome: str | None = None
    attributes: str | None = None


class SupplementPause(BaseModel):
    """A wait for the citizen's supplements: the clock stops (``exclude_supplement_wait``)."""

    start: datetime
    end: datetime
    working_days: float


class DossierDeadline(BaseModel):
    received_at: datetime
    due_at: datetime | None  # the end of the due day (local), or the source's due date
    due_from_source: bool  # the source gave the due date (it wins over the catalog's rule)
    processed_at: datetime | None  # end of processing (finished dossiers)
    finished: bool
    status: str | None  # early / on_time / late; within / at_risk / overdue while open
    deadline_working_days: int | None  # the catalog's legal limit
    working_days_used: float | None  # receipt → end of processing (or now), supplements out
    elapsed_share: float | None  # of the time allowed (receipt → due)
    supplement_wait_working_days: float
    pauses: list[SupplementPause] = []  # when the clock stopped (empty if the rules count it)


class DossierTimeline(BaseModel):
    case_id: str
    procedure_code: str
    events: list[DossierEvent]  # in process order
    deadline: DossierDeadline
    as_of: datetime  # "now" for an open dossier: the last event of its procedure's log


def dossier_timeline(
    con: duckdb.DuckDBPyConnection,
    case_id: str,
    rules: DeadlineRules | None = None,
    settings: Settings | None = None,
) -> DossierTimeline | None:
    """``case_id``'s timeline from ``con``, the loaded log of its procedure (``load_log``),
    under ``settings``' catalog, calendar and rules; None when the log does not hold it.
    The deadline is computed on a copy of the dossier's ``cases`` and ``steps`` rows, with
    the log's last event as "now"."""
    found = con.execute(
        "SELECT procedure_code, (SELECT max(last_ts) FROM cases), due_attr IS NOT NULL "
        "FROM cases WHERE case_id = $id",
        {"id": case_id},
    ).fetchone()
    if found is None:
        return None
    procedure, as_of, given = found
    events = (
        con.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM log WHERE case_id = $id ORDER BY ord",
            {"id": case_id},
        )
        .to_arrow_table()
        .to_pylist()
    )
    settings = or_environment(settings)
    deadlines, results = catalog_deadlines([procedure], settings)
    rules = rules or DeadlineRules.from_settings(settings)
    one = connect(settings)
    try:
        for table in ("cases", "steps"):
            rows = con.execute(
                f"SELECT * FROM {table} WHERE case_id = $id", {"id": case_id}
            ).to_arrow_table()
            one.register("_dvc_rows", rows)
            one.execute(f"CREATE TABLE {table} AS SELECT * FROM _dvc_rows")
            one.unregister("_dvc_rows")
        build_deadlines(one, deadlines, rules, as_of, results, settings)
        row = one.execute(
            """SELECT received_at, due_at, processed_at, finished, status,
                      working_days_used, elapsed_share, supplement_wait_days FROM deadlines"""
        ).fetchone()
        pauses = []
        if rules.exclude_supplement_wait:
            calendar = WorkCalendar(cutoff_hour=rules.same_day_cutoff_hour, settings=settings)
            pauses = [
                SupplementPause(start=a, end=b, working_days=round(days, 3))
                for a, b, days in supplement_pauses(one, as_of, calendar, settings)
            ]
    finally:
        one.close()
    received, due, processed, finished, status, used, share, waited = row
    return DossierTimeline(
        case_id=case_id,
        procedure_code=procedure,
        events=[DossierEvent(**e) for e in events],
        as_of=as_of,
        deadline=DossierDeadline(
            received_at=received,
            due_at=due,
            due_from_source=bool(given),
            processed_at=processed,
            finished=bool(finished),
            status=status,
            deadline_working_days=deadlines.get(procedure),
            working_days_used=None if used is None else round(float(used), 3),
            elapsed_share=None if share is None else round(float(share), 4),
            supplement_wait_working_days=round(float(waited or 0.0), 3),
            pauses=pauses,
        ),
    )
