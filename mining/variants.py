"""Variants: the distinct paths dossiers take, most frequent first.

Each with its share of dossiers, median duration (finished dossiers) in hours and in working
days (receipt to last event, as ``mining.periods.cycle_working_days`` counts a dossier's
time: the unit of the legal limits officials work against), and on-time rate (finished
dossiers with a due date; None when no deadline is known).
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np

from sample_logs.workdays import WorkCalendar, default_calendar


def variants(
    con: duckdb.DuckDBPyConnection,
    top: int = 20,
    with_deadlines: bool = True,
    calendar: WorkCalendar | None = None,
) -> dict[str, Any]:
    """The ``top`` variants and how many distinct variants there are."""
    join = "LEFT JOIN deadlines d USING (case_id)" if with_deadlines else ""
    on_time = (
        """avg(CASE WHEN d.status IN ('early', 'on_time') THEN 1.0
                    WHEN d.status = 'late' THEN 0.0 END)"""
        if with_deadlines
        else "NULL::DOUBLE"
    )
    rows = (
        con.execute(
            f"""
            SELECT c.trace AS activities, count(*) AS count,
                   count(*) / (SELECT count(*) FROM cases) AS share,
                   median(c.duration_s) FILTER (WHERE c.finished) AS median_duration_s,
                   {on_time} AS on_time_rate
            FROM cases c {join}
            GROUP BY c.trace ORDER BY count DESC, c.trace LIMIT $top
            """,
            {"top": top},
        )
        .to_arrow_table()
        .to_pylist()
    )
    medians = _median_working_days(con, [r["activities"] for r in rows], calendar)
    for row, wd in zip(rows, medians, strict=True):
        row["median_working_days"] = wd
    total = con.execute("SELECT count(DISTINCT trace) FROM cases").fetchone()[0]
    return {"distinct": int(total), "top": rows}


def _median_working_days(
    con: duckdb.DuckDBPyConnection, traces: list[list[str]], calendar: WorkCalendar | None
) -> list[float | None]:
    """Per trace of ``traces``: the median receipt-to-last-event time of its finished
    dossiers, in working days (None without a finished one)."""
    if not traces:
        return []
    calendar = calendar or default_calendar()
    frame = con.execute(
        """SELECT t.i, timezone(current_setting('TimeZone'), c.first_ts) AS a,
                  timezone(current_setting('TimeZone'), c.last_ts) AS b
           FROM cases c JOIN (SELECT unnest($traces) AS trace, generate_subscripts($traces, 1)
                                 AS i) t ON c.trace = t.trace
           WHERE c.finished""",
        {"traces": traces},
    ).df()
    out: list[float | None] = [None] * len(traces)
    if frame.empty:
        return out
    wd = calendar.working_days_between_arrays(
        frame["a"].to_numpy(dtype="datetime64[us]"), frame["b"].to_numpy(dtype="datetime64[us]")
    )
    index = frame["i"].to_numpy()
    for i in np.unique(index):
        out[int(i) - 1] = round(float(np.median(wd[index == i])), 3)
    return out
