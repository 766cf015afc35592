"""Conformance against the catalog's reference model of the procedure.

The reference model is the statutory step order: a sequence of the catalog's steps, an
optional step may be skipped, a run of repeatable steps (the supplement loop) may happen any
number of times. Fitness is pm4py's token-based replay, weighted by variant frequency and
bounded by a time budget (``mining.discovery.replay_fitness``). The
deviations that matter are counted per step in SQL: mandatory steps a finished dossier
skipped, and steps done after a step that the statute puts later.
"""

from __future__ import annotations

from typing import Any

import duckdb

from mining.discovery import ModelLimits, replay_fitness, variant_counts

# Finished dossiers that stop early by design: they are not counted as skipping steps.
EARLY_END_OUTCOMES = ("rejected", "withdrawn", "returned")


def reference_tree_string(procedure: Any) -> str:
    """The catalog procedure as a pm4py process-tree string."""
    parts: list[str] = []
    steps = list(procedure.steps)
    i = 0
    while i < len(steps):
        step = steps[i]
        if step.repeatable:
            block = []
            while i < len(steps) and steps[i].repeatable:
                block.append(steps[i])
                i += 1
            inner = " , ".join(f"'{s.code}'" for s in block)
            loop = f"*( ->( {inner} ), tau )" if len(block) > 1 else f"*( {inner}, tau )"
            parts.append(f"X( tau, {loop} )" if all(s.optional for s in block) else loop)
            continue
        parts.append(f"X( '{step.code}', tau )" if step.optional else f"'{step.code}'")
        i += 1
    return f"->( {' , '.join(parts)} )"


def reference_model(procedure: Any) -> tuple[Any, Any, Any]:
    """Petri net, initial and final marking of the catalog's reference model."""
    import pm4py

    tree = pm4py.parse_process_tree(reference_tree_string(procedure))
    return pm4py.convert_to_petri_net(tree)


def fitness(
    con: duckdb.DuckDBPyConnection, procedure: Any, seconds: float | None = None
) -> dict[str, Any]:
    """pm4py token-based replay of the variants on the reference model, frequency-weighted,
    most frequent first, within ``seconds`` (settings ``model_seconds``); the answer says
    which share of the dossiers was replayed."""
    if seconds is None:
        seconds = ModelLimits.from_settings().seconds
    result, _ = replay_fitness(reference_model(procedure), variant_counts(con), seconds)
    return {
        "fitness": result["fitness"],
        "fitting_share": result["fitting_share"],
        "replayed_share": result["replayed_share"],
        "notes": result["notes"],
    }


def deviations(con: duckdb.DuckDBPyConnection, procedure: Any) -> list[dict[str, Any]]:
    """Per catalog step: dossiers that skipped it (mandatory steps, finished dossiers that
    did not end early) and dossiers that did it out of statutory order."""
    order = [(s.code, i, not s.optional, s.repeatable) for i, s in enumerate(procedure.steps)]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ref(activity VARCHAR, rank INT, "
        "mandatory BOOLEAN, repeatable BOOLEAN)"
    )
    con.executemany("INSERT INTO _ref VALUES (?, ?, ?, ?)", order)
    rows = (
        con.execute(
            """
            WITH done AS (   -- first execution of each non-repeatable catalog step
                SELECT s.case_id, s.activity, r.rank, min(s.seq) AS first_seq
                FROM steps s JOIN _ref r USING (activity) WHERE NOT r.repeatable
                GROUP BY ALL
            ), late AS (     -- done after a step the statute puts later
                SELECT case_id, activity,
                       rank < max(rank) OVER (PARTITION BY case_id ORDER BY first_seq
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS out_of_order
                FROM done
            ), judged AS (
                SELECT case_id FROM cases
                WHERE finished AND NOT list_contains($early, coalesce(outcome, ''))
            ), skipped AS (
                SELECT r.activity, count(*) AS n FROM judged j CROSS JOIN _ref r
                WHERE r.mandatory
                  AND NOT EXISTS (SELECT 1 FROM steps s
                                  WHERE s.case_id = j.case_id AND s.activity = r.activity)
                GROUP BY r.activity
            )
            SELECT r.activity AS step, r.mandatory, r.rank,
                   coalesce(sk.n, 0) AS skipped,
                   coalesce(sk.n, 0) / greatest((SELECT count(*) FROM judged), 1)
                       AS skipped_share,
                   (SELECT count(*) FROM late l WHERE l.activity = r.activity AND l.out_of_order)
                       AS out_of_order,
                   (SELECT count(*) FROM late l WHERE l.activity = r.activity AND l.out_of_order)
                       / (SELECT count(*) FROM cases) AS out_of_order_share
            FROM _ref r LEFT JOIN skipped sk USING (activity)
            ORDER BY r.rank
            """,
            {"early": list(EARLY_END_OUTCOMES)},
        )
        .to_arrow_table()
        .to_pylist()
    )
    return rows


def unknown_activities(con: duckdb.DuckDBPyConnection, procedure: Any) -> list[dict[str, Any]]:
    """Activities in the log that the catalog does not know."""
    return (
        con.execute(
            "SELECT activity, count(*) AS count FROM steps "
            "WHERE activity NOT IN (SELECT unnest($codes)) GROUP BY ALL ORDER BY count DESC",
            {"codes": procedure.step_codes},
        )
        .to_arrow_table()
        .to_pylist()
    )


def conformance(
    con: duckdb.DuckDBPyConnection, procedure: Any | None, seconds: float | None = None
) -> dict[str, Any] | None:
    """Fitness (within ``seconds``) and deviations; None without a catalog entry (no
    reference model)."""
    if procedure is None:
        return None
    return {
        "reference": reference_tree_string(procedure),
        **fitness(con, procedure, seconds),
        "steps": deviations(con, procedure),
        "unknown_activities": unknown_activities(con, procedure),
    }
