"""Process discovery: the directly-follows graph in SQL, process models with pm4py.

The DFG and its waiting times come from the ``steps`` table (one DuckDB pass whatever the
log size). pm4py discovers models from what SQL aggregated, never from the raw events: the
inductive miner from the variant counts (pm4py's own input form, ``UVCL``), the heuristics
miner from the DFG with its activity, start and end counts.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb

from dvcflow.errors import DvcflowError

Miner = Literal["inductive", "heuristics"]


def dfg_edges(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Directly-follows edges with frequency and waiting time (seconds: median, mean, p90).

    The wait of an edge a→b is, per occurrence, max(start of b, end of a) − end of a:
    pm4py's performance DFG on the same log.
    """
    return (
        con.execute(
            """
            SELECT prev_activity AS source, activity AS target, count(*) AS count,
                   quantile_cont(wait_s, [0.5, 0.9])[1] AS median_s, avg(wait_s) AS mean_s,
                   quantile_cont(wait_s, [0.5, 0.9])[2] AS p90_s, sum(wait_s) AS total_s
            FROM steps WHERE prev_activity IS NOT NULL
            GROUP BY ALL ORDER BY count DESC, source, target
            """
        )
        .to_arrow_table()
        .to_pylist()
    )


def activity_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Occurrences of each activity, and how many dossiers start and end with it."""
    occ = dict(con.execute("SELECT activity, count(*) FROM steps GROUP BY ALL").fetchall())
    start = dict(con.execute("SELECT trace[1], count(*) FROM cases GROUP BY ALL").fetchall())
    end = dict(con.execute("SELECT trace[-1], count(*) FROM cases GROUP BY ALL").fetchall())
    return {"activities": occ, "start": start, "end": end}


def variant_counts(con: duckdb.DuckDBPyConnection) -> Counter[tuple[str, ...]]:
    """Trace variants and their counts, in pm4py's ``UVCL`` form."""
    rows = con.execute("SELECT trace, count(*) FROM cases GROUP BY trace").fetchall()
    return Counter({tuple(trace): int(n) for trace, n in rows})


@dataclass
class Model:
    """A discovered Petri net (and the process tree when the inductive miner made it)."""

    net: Any
    initial_marking: Any
    final_marking: Any
    tree: Any = None
    miner: Miner = "inductive"

    def bpmn(self) -> Any:
        import pm4py

        if self.tree is not None:
            return pm4py.convert_to_bpmn(self.tree)
        return pm4py.convert_to_bpmn(self.net, self.initial_marking, self.final_marking)

    def export(self, path: Path, fmt: Literal["bpmn", "pnml"] | None = None) -> Path:
        """Write BPMN or PNML (``fmt``, else chosen by the file's suffix)."""
        import pm4py

        fmt = fmt or path.suffix.lower().lstrip(".")  # type: ignore[assignment]
        if fmt not in ("bpmn", "pnml"):
            raise DvcflowError(f"{path}: say the format: a .bpmn or .pnml file name.")
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "bpmn":
            from pm4py.objects.bpmn.exporter import exporter

            bpmn = self.bpmn()
            if shutil.which("dot"):  # pm4py lays diagrams out with Graphviz when it can
                from pm4py.objects.bpmn.layout import layouter

                bpmn = layouter.apply(bpmn)
            exporter.apply(bpmn, str(path))
        else:
            pm4py.write_pnml(self.net, self.initial_marking, self.final_marking, str(path))
        return path


def inductive_tree(uvcl: Counter[tuple[str, ...]], noise_threshold: float) -> Any:
    """pm4py's inductive miner (IMf when noise > 0) on variant counts.

    ``inductive.algorithm.apply`` would take a ``UVCL`` but its type test never matches a
    real ``Counter`` in pm4py 2.7.23, so the miner is called the way ``apply`` calls it.
    """
    from pm4py.algo.discovery.inductive.dtypes.im_ds import IMDataStructureUVCL
    from pm4py.algo.discovery.inductive.variants.im import IMUVCL
    from pm4py.algo.discovery.inductive.variants.imf import IMFUVCL
    from pm4py.objects.process_tree.utils import generic as pt_util

    params = {"noise_threshold": noise_threshold}
    miner = IMFUVCL(params) if noise_threshold > 0 else IMUVCL(params)
    tree = pt_util.fold(miner.apply(IMDataStructureUVCL(uvcl), params))
    pt_util.tree_sort(tree)
    return tree


def discover_model(
    con: duckdb.DuckDBPyConnection,
    miner: Miner = "inductive",
    noise_threshold: float = 0.2,
    dependency_threshold: float = 0.5,
) -> Model:
    """A process model of the loaded log, by pm4py's inductive (IMf) or heuristics miner."""
    if miner == "inductive":
        return inductive_model(variant_counts(con), noise_threshold)
    if miner == "heuristics":
        return heuristics_model(dfg_edges(con), activity_counts(con), dependency_threshold)
    raise DvcflowError(f"--miner {miner!r} is not one of inductive, heuristics.")


def inductive_model(uvcl: Counter[tuple[str, ...]], noise_threshold: float = 0.2) -> Model:
    """The inductive miner's model from variant counts (``variant_counts``); pure Python,
    so it can run in a thread while DuckDB works."""
    import pm4py

    tree = inductive_tree(uvcl, noise_threshold)
    net, im, fm = pm4py.convert_to_petri_net(tree)
    return Model(net, im, fm, tree=tree, miner="inductive")


def heuristics_model(
    edges: list[dict[str, Any]],
    counts: dict[str, dict[str, int]],
    dependency_threshold: float = 0.5,
) -> Model:
    """The heuristics miner's net from ``dfg_edges`` and ``activity_counts``."""
    from pm4py.algo.discovery.heuristics.variants import classic as heuristics

    net, im, fm = heuristics.apply_dfg(
        {(e["source"], e["target"]): e["count"] for e in edges},
        activities=list(counts["activities"]),
        activities_occurrences=counts["activities"],
        start_activities=counts["start"],
        end_activities=counts["end"],
        parameters={"dependency_thresh": dependency_threshold},
    )
    return Model(net, im, fm, miner="heuristics")


def model_summary(model: Model) -> dict[str, Any]:
    """Size of the model, for the JSON report."""
    visible = [t for t in model.net.transitions if t.label is not None]
    return {
        "miner": model.miner,
        "places": len(model.net.places),
        "transitions": len(model.net.transitions),
        "visible_transitions": len(visible),
        "arcs": len(model.net.arcs),
        "tree": str(model.tree) if model.tree is not None else None,
    }
