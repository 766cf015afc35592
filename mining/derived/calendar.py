"""The working-day calendar as a table, so that working days are a join in SQL.

``WorkCalendar`` (``sample_logs.workdays``) decides which days are worked; this module
writes that decision out as rows ``(day, before, is_work)``: ``before`` counts the working
days strictly before ``day`` since the table's first day. A moment's position on the
working-time axis is then ``before + (is_work ? fraction of the day : 0)``, exactly
``WorkCalendar._work_time``, and the working days between two moments are the difference
of two positions: a join any SQL engine (DuckDB here, Spark later) runs, no Python per row.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from sample_logs.workdays import WorkCalendar

CALENDAR_TABLE = "_dvc_calendar"


def calendar_table(cal: WorkCalendar, first_year: int, last_year: int) -> pa.Table:
    """Every day of ``first_year - 1`` … ``last_year + 1`` with ``before`` and ``is_work``."""
    lo, hi = first_year - 1, last_year + 1
    work = cal.workdays_array(lo, hi)
    days = np.arange(np.datetime64(f"{lo}-01-01"), np.datetime64(f"{hi + 1}-01-01"))
    before = np.searchsorted(work, days, side="left")
    is_work = np.isin(days, work)
    return pa.table({"day": days, "before": before.astype(np.int64), "is_work": is_work})


def register_calendar(
    con: duckdb.DuckDBPyConnection, cal: WorkCalendar, first_year: int, last_year: int
) -> None:
    """Table ``_dvc_calendar`` on ``con`` covering those years (with a year's margin)."""
    con.register("_dvc_calendar_rows", calendar_table(cal, first_year, last_year))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CALENDAR_TABLE} AS SELECT * FROM _dvc_calendar_rows"
    )
    con.unregister("_dvc_calendar_rows")


def working_days_sql(a: str, b: str, tz: str) -> tuple[str, str]:
    """(joins, expression): the working days from instant ``a`` to instant ``b`` (SQL
    TIMESTAMPTZ expressions of a table aliased in them), local dates in ``tz``.

    The whole days are an integer difference of ``before``, so the value does not depend
    on where the table starts (a layer derived in batches equals one derived at once)."""
    joins = []
    parts = []
    for alias, ts in (("ca", a), ("cb", b)):
        local = f"timezone('{tz}', {ts})"
        joins.append(f"LEFT JOIN {CALENDAR_TABLE} {alias} ON {alias}.day = {local}::DATE")
        frac = (
            f"CASE WHEN {alias}.is_work THEN (epoch_us({local}) - epoch_us({local}::DATE)) "
            "/ 86400000000.0 ELSE 0 END"
        )
        parts.append((f"{alias}.before", frac))
    (ba, fa), (bb, fb) = parts
    return " ".join(joins), f"(({bb} - {ba})::DOUBLE + ({fb}) - ({fa}))"
