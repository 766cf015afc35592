"""Variants: the distinct paths dossiers take, most frequent first.

Each with its share of dossiers, median duration (finished dossiers) and on-time rate
(finished dossiers with a due date; None when no deadline is known).
"""

from __future__ import annotations

from typing import Any

import duckdb


def variants(
    con: duckdb.DuckDBPyConnection, top: int = 20, with_deadlines: bool = True
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
    total = con.execute("SELECT count(DISTINCT trace) FROM cases").fetchone()[0]
    return {"distinct": int(total), "top": rows}
