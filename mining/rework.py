"""Rework: steps done again and supplement loops, how many dossiers, how much time.

The time a repeated step adds is what its second and later executions cost: the wait
before each and its service time. A supplement loop costs the time from the request to the
citizen's answer; the cycle time of dossiers with a loop is shown next to those without.
"""

from __future__ import annotations

from typing import Any

import duckdb

from mining.deadlines import SUPPLEMENT_REQUEST, SUPPLEMENT_SUBMIT

# A dossier that does some step more than once (a row of ``cases``).
REWORKED_SQL = "len(list_distinct(trace)) < len(trace)"


def _repeats(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table ``_repeats``: per dossier and activity done more than once, the repeats
    and the time they add (all executions but the first). One pass over ``steps`` serves
    both the per-activity list and the share of dossiers; it groups only the steps of
    dossiers whose trace repeats an activity (a few percent, found from ``cases``)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _repeats AS
        SELECT case_id, activity, count(*) - 1 AS repeats,
               sum(coalesce(wait_s, 0) + coalesce(service_s, 0))
               - arg_min(coalesce(wait_s, 0) + coalesce(service_s, 0), seq) AS added_s
        FROM steps
        WHERE case_id IN (SELECT case_id FROM cases WHERE {REWORKED_SQL})
        GROUP BY ALL HAVING count(*) > 1
        """
    )


def repeated_steps(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per activity: dossiers doing it more than once, their share, the time repeats add."""
    _repeats(con)
    return (
        con.execute(
            """
            SELECT activity, count(*) AS cases,
                   count(*) / (SELECT count(*) FROM cases) AS share,
                   sum(repeats)::BIGINT AS repeats, median(added_s) AS median_added_s,
                   avg(added_s) AS mean_added_s, sum(added_s) AS total_added_s
            FROM _repeats GROUP BY activity ORDER BY total_added_s DESC, activity
            """
        )
        .to_arrow_table()
        .to_pylist()
    )


def supplement_loops(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Dossiers sent back to the citizen for supplements, and the time the loops take."""
    row = con.execute(
        """
        WITH s AS (
            SELECT case_id, activity, start_ts, end_ts,
                   lead(activity) OVER w AS next_activity, lead(start_ts) OVER w AS next_start
            FROM steps WHERE activity IN ($req, $sub)
            WINDOW w AS (PARTITION BY case_id ORDER BY seq)
        ), loops AS (
            SELECT case_id, count(*) AS loops,
                   sum(epoch_us(next_start) - epoch_us(coalesce(end_ts, start_ts)))
                       FILTER (WHERE next_activity = $sub) / 1e6 AS wait_s
            FROM s WHERE activity = $req GROUP BY case_id
        ), c AS (
            SELECT c.case_id, c.duration_s, c.finished, l.loops, l.wait_s
            FROM cases c LEFT JOIN loops l USING (case_id)
        )
        SELECT count(*) FILTER (WHERE loops > 0) AS cases,
               avg((coalesce(loops, 0) > 0)::INT) AS share,
               coalesce(sum(loops), 0)::BIGINT AS loops,
               median(wait_s) AS median_wait_s, avg(wait_s) AS mean_wait_s,
               median(duration_s) FILTER (WHERE finished AND loops > 0)
                   AS median_duration_with_s,
               median(duration_s) FILTER (WHERE finished AND loops IS NULL)
                   AS median_duration_without_s
        FROM c
        """,
        {"req": SUPPLEMENT_REQUEST, "sub": SUPPLEMENT_SUBMIT},
    ).fetchone()
    keys = (
        "cases",
        "share",
        "loops",
        "median_wait_s",
        "mean_wait_s",
        "median_duration_with_s",
        "median_duration_without_s",
    )
    return dict(zip(keys, row, strict=True))


def rework_share(con: duckdb.DuckDBPyConnection) -> float:
    """Share of dossiers in which some step is done more than once (supplement loops that
    repeat a step count; their own share is in ``supplement_loops``)."""
    _repeats(con)
    return _share(con)


def _share(con: duckdb.DuckDBPyConnection) -> float:
    return con.execute(
        "SELECT (SELECT count(DISTINCT case_id) FROM _repeats) / count(*) FROM cases"
    ).fetchone()[0]


def rework(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    repeated = repeated_steps(con)  # fills _repeats
    return {
        "share": _share(con),
        "repeated_steps": repeated,
        "supplements": supplement_loops(con),
    }
