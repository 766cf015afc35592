"""Where dossiers wait: per step, per handoff between org units, and work in progress.

Every ranking is by the total delay a place causes (occurrences × mean wait = the sum of
its waits), so a short wait that every dossier pays can outrank a long rare one.
"""

from __future__ import annotations

from typing import Any

import duckdb

# steps with a predecessor, and their dossier's province (one join serves both rankings)
_EDGES = """SELECT c.province_code, s.prev_org_unit, s.org_unit, s.prev_activity, s.activity,
                  s.wait_s
           FROM steps s JOIN cases c USING (case_id) WHERE s.prev_activity IS NOT NULL"""

# median and p90 from one list quantile: one sort of each group's values, not two
_STATS = """count(*) AS count, quantile_cont({x}, [0.5, 0.9])[1] AS median_s,
            avg({x}) AS mean_s, quantile_cont({x}, [0.5, 0.9])[2] AS p90_s,
            coalesce(sum({x}), 0) AS total_s"""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[dict]:
    return con.execute(sql, params or {}).to_arrow_table().to_pylist()


def step_waits(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Waiting time before each step (since the previous step ended), by total delay."""
    return _rows(
        con,
        f"""SELECT activity, {_STATS.format(x="wait_s")} FROM steps
            WHERE prev_activity IS NOT NULL GROUP BY activity
            ORDER BY total_s DESC, activity""",
    )


def service_times(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Service time of each step, from its ``start`` to its ``complete`` (when logged)."""
    return _rows(
        con,
        f"""SELECT activity, {_STATS.format(x="service_s")} FROM steps
            WHERE has_start AND end_ts IS NOT NULL GROUP BY activity
            ORDER BY total_s DESC, activity""",
    )


def handoffs(
    con: duckdb.DuckDBPyConnection, limit: int | None = 50, edges: str = f"({_EDGES})"
) -> list[dict[str, Any]]:
    """Waits where a dossier passes from one org unit to another, per province, ranked by
    total delay (commune → province handoffs show here)."""
    lim = f"LIMIT {int(limit)}" if limit else ""
    return _rows(
        con,
        f"""SELECT province_code, prev_org_unit AS from_unit, org_unit AS to_unit,
                   prev_activity AS from_activity, activity AS to_activity,
                   {_STATS.format(x="wait_s")}
            FROM {edges} e
            WHERE prev_org_unit IS NOT NULL AND prev_org_unit <> org_unit
            GROUP BY ALL ORDER BY total_s DESC, from_unit, to_unit {lim}""",
    )


def top_by_province(
    con: duckdb.DuckDBPyConnection, per_province: int = 3, edges: str = f"({_EDGES})"
) -> dict[str, list]:
    """Per province: its worst directly-follows waits by total delay, across its units;
    ``handoff`` says whether the wait crosses org units (e.g. commune → province)."""
    rows = _rows(
        con,
        f"""WITH e AS (
                SELECT province_code, prev_activity AS from_activity,
                       activity AS to_activity,
                       bool_or(prev_org_unit IS DISTINCT FROM org_unit) AS handoff,
                       count(DISTINCT prev_org_unit) AS from_units,
                       count(DISTINCT org_unit) AS to_units,
                       {_STATS.format(x="wait_s")}
                FROM {edges} e GROUP BY ALL
            )
            SELECT * FROM e
            QUALIFY row_number() OVER (
                PARTITION BY province_code ORDER BY total_s DESC, from_activity, to_activity
            ) <= $n
            ORDER BY province_code, total_s DESC""",
        {"n": per_province},
    )
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(r.pop("province_code") or "", []).append(r)
    return out


def work_in_progress(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Dossiers in progress during each day (each week when the log spans over a year)."""
    span = con.execute("SELECT max(last_ts)::DATE - min(first_ts)::DATE FROM cases").fetchone()[0]
    unit = "week" if span > 366 else "day"
    rows = con.execute(
        f"""
        WITH d AS (
            SELECT date_trunc('{unit}', first_ts::DATE) AS t, 1 AS delta FROM cases
            UNION ALL
            SELECT date_trunc('{unit}', last_ts::DATE) + INTERVAL 1 {unit}, -1 FROM cases
            WHERE finished
        ), g AS (SELECT t, sum(delta) AS delta FROM d GROUP BY t)
        SELECT t::DATE AS period, sum(delta) OVER (ORDER BY t) AS open FROM g ORDER BY t
        """
    ).fetchall()
    return {"unit": unit, "series": [{"period": p, "open": int(n)} for p, n in rows]}


def bottlenecks(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    con.execute(f"CREATE OR REPLACE TEMP TABLE _edges AS {_EDGES}")
    try:
        return {
            "waits": step_waits(con),
            "service": service_times(con),
            "handoffs": handoffs(con, edges="_edges"),
            "by_province": top_by_province(con, edges="_edges"),
            "wip": work_in_progress(con),
        }
    finally:
        con.execute("DROP TABLE IF EXISTS _edges")
