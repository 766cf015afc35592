"""The headline figures of one period beside those of the period just before it, so a card
can say whether things got better: dossiers received, finished, on-time rate and the median
time to finish in working days.

Periods go by the dossier's local received date. Without a chosen range the period is the
last 30 days of the log. It reads the ``cases`` table and, when the log was analysed, its
``deadlines`` (``mining.deadlines.build_deadlines``) for the on-time status.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
from pydantic import BaseModel

from mining.deadlines import FINISHED_STATUSES
from sample_logs.workdays import WorkCalendar, default_calendar

DEFAULT_DAYS = 30


class PeriodFigures(BaseModel):
    start: date
    end: date
    dossiers: int
    finished: int
    on_time_rate: float | None  # among finished dossiers with a due date
    judged: int  # finished dossiers with a due date (the on-time rate's basis)
    median_working_days: float | None  # received → last event, finished dossiers


class PeriodChange(BaseModel):
    current: PeriodFigures
    previous: PeriodFigures


def cycle_working_days(
    con: duckdb.DuckDBPyConnection, calendar: WorkCalendar | None = None
) -> float | None:
    """The median time from receipt to the last event of the finished dossiers of ``con``,
    in working days (None without a finished dossier)."""
    calendar = calendar or default_calendar()
    frame = con.sql(
        """SELECT timezone(current_setting('TimeZone'), first_ts) AS a,
                  timezone(current_setting('TimeZone'), last_ts) AS b
           FROM cases WHERE finished"""
    ).df()
    if frame.empty:
        return None
    wd = calendar.working_days_between_arrays(
        frame["a"].to_numpy(dtype="datetime64[us]"), frame["b"].to_numpy(dtype="datetime64[us]")
    )
    return round(float(np.median(wd)), 3)


def _figures(con, start: date, end: date, calendar: WorkCalendar, has_deadlines: bool):
    status = "d.status" if has_deadlines else "NULL::VARCHAR"
    join = "LEFT JOIN deadlines d USING (case_id)" if has_deadlines else ""
    frame = con.sql(
        f"""SELECT c.finished, {status} AS status,
                   timezone(current_setting('TimeZone'), c.first_ts) AS a,
                   timezone(current_setting('TimeZone'), c.last_ts) AS b
            FROM cases c {join}
            WHERE c.first_ts::DATE BETWEEN $start AND $end""",
        params={"start": start, "end": end},
    ).df()
    done = frame[frame["finished"].astype(bool)]
    judged = done[done["status"].isin(FINISHED_STATUSES)]
    on_time = judged["status"].isin(["early", "on_time"]).sum()
    wd = (
        calendar.working_days_between_arrays(
            done["a"].to_numpy(dtype="datetime64[us]"), done["b"].to_numpy(dtype="datetime64[us]")
        )
        if len(done)
        else np.zeros(0)
    )
    return PeriodFigures(
        start=start,
        end=end,
        dossiers=len(frame),
        finished=len(done),
        on_time_rate=float(on_time / len(judged)) if len(judged) else None,
        judged=len(judged),
        median_working_days=round(float(np.median(wd)), 3) if len(wd) else None,
    )


def period_change(
    con: duckdb.DuckDBPyConnection,
    start: date | None = None,
    end: date | None = None,
    calendar: WorkCalendar | None = None,
) -> PeriodChange:
    """The figures of [start, end] (default: the log's last 30 days) and of the period of the
    same length just before. ``con`` must hold the dossiers of both periods (a log loaded
    without the date filter)."""
    calendar = calendar or default_calendar()
    last = con.sql("SELECT max(first_ts)::DATE FROM cases").fetchone()[0]
    end = end or last or date.today()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    length = (end - start).days + 1
    has = bool(
        con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'deadlines'").fetchone()[0]
    )
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=length - 1)
    return PeriodChange(
        current=_figures(con, start, end, calendar, has),
        previous=_figures(con, prev_start, prev_end, calendar, has),
    )
