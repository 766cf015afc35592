"""Conformance against the catalog's reference model of the procedure.

The reference model is the statutory step order: a sequence of the catalog's steps, an
optional step may be skipped, a run of repeatable steps (the supplement loop) may happen any
number of times. Fitness is pm4py's token-based replay, weighted by variant frequency. The
deviations that matter are counted per step in SQL: mandatory steps a finished dossier
skipped, and steps done after a step that the statute puts later.
"""

from __future__ import annotations

from typing import Any

import duckdb

from mining.discovery import variant_counts

# Finished dossiers that stop early by design: they are not counted as skipping steps.
EARLY_END_OUTCOMES = ("rejected", "withdrawn", "returned")
MAX_REPLAYED_VARIANTS = 2000


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


def fitness(con: duckdb.DuckDBPyConnection, procedure: Any) -> dict[str, Any]:
    """pm4py token-based replay of the variants on the reference model, frequency-weighted."""
    import pm4py
    from pm4py.objects.log.obj import Event, EventLog, Trace

    net, im, fm = reference_model(procedure)
    counts = variant_counts(con).most_common(MAX_REPLAYED_VARIANTS)
    log = EventLog([Trace([Event({"concept:name": a}) for a in v]) for v, _ in counts])
    diag = pm4py.conformance_diagnostics_token_based_replay(log, net, im, fm)
    sums = dict(missing=0, consumed=0, remaining=0, produced=0, fit=0, cases=0)
    for (_, n), d in zip(counts, diag, strict=True):
        sums["missing"] += n * d["missing_tokens"]
        sums["consumed"] += n * d["consumed_tokens"]
        sums["remaining"] += n * d["remaining_tokens"]
        sums["produced"] += n * d["produced_tokens"]
        sums["fit"] += n * bool(d["trace_is_fit"])
        sums["cases"] += n
    log_fitness = 0.5 * (1 - sums["missing"] / max(sums["consumed"], 1)) + 0.5 * (
        1 - sums["remaining"] / max(sums["produced"], 1)
    )
    total = con.execute("SELECT count(*) FROM cases").fetchone()[0]
    return {
        "fitness": log_fitness,
        "fitting_share": sums["fit"] / sums["cases"] if sums["cases"] else None,
        "replayed_share": sums["cases"] / total if total else None,
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


def conformance(con: duckdb.DuckDBPyConnection, procedure: Any | None) -> dict[str, Any] | None:
    """Fitness and deviations; None without a catalog entry (no reference model)."""
    if procedure is None:
        return None
    return {
        "reference": reference_tree_string(procedure),
        **fitness(con, procedure),
        "steps": deviations(con, procedure),
        "unknown_activities": unknown_activities(con, procedure),
    }
