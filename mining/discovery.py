"""Process discovery: the directly-follows graph in SQL, process models with pm4py.

The DFG and its waiting times come from the ``steps`` table (one DuckDB pass whatever the
log size). pm4py discovers models from what SQL aggregated, never from the raw events: the
inductive miner from the variant counts (pm4py's own input form, ``UVCL``) or from their
directly-follows graph (IMd), the heuristics miner from that graph.

Discovery is bounded by design, whatever the log's shape (hundreds of activities, almost
every dossier its own variant, where pm4py's IMf runs for many minutes): a model holds at
most ``ModelLimits.max_activities`` activities, IMf runs only on few variants and
activities and within a time budget, IMd otherwise; replay and precision stop at their
budget too. Each answer says which algorithm, which filter and what the budget cut.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb

from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings

Miner = Literal["inductive", "heuristics"]
# ETConformance replays every prefix of the log: its cost grows fast with the variants
PRECISION_VARIANTS = 100


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


@dataclass(frozen=True)
class ModelLimits:
    """What bounds model discovery (settings ``model_*``): the activities a model may hold,
    when the inductive miner may work on the variants (IMf) rather than on the
    directly-follows graph (IMd), and the time budget of each step."""

    max_activities: int = 30
    activity_share: float = 1.0
    imf_max_variants: int = 2000
    imf_max_activities: int = 30
    seconds: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ModelLimits:
        from dvcflow.settings import or_environment

        s = or_environment(settings)
        return cls(
            max_activities=s.model_max_activities,
            activity_share=s.model_activity_share,
            imf_max_variants=s.model_imf_max_variants,
            imf_max_activities=s.model_imf_max_activities,
            seconds=s.model_seconds,
        )


@dataclass(frozen=True)
class ActivityFilter:
    """The activities a model was discovered on: the most frequent ones."""

    kept: tuple[str, ...]
    total: int  # distinct activities in the log
    occurrence_share: float  # share of all activity occurrences the kept ones cover

    def describe(self) -> str:
        if len(self.kept) == self.total:
            return f"all {self.total} activities"
        return (
            f"the {len(self.kept)} most frequent of {self.total} activities "
            f"({self.occurrence_share:.1%} of occurrences)"
        )


def top_activities(uvcl: Counter[tuple[str, ...]], limits: ModelLimits) -> ActivityFilter:
    """The most frequent activities covering ``limits.activity_share`` of the occurrences,
    at most ``limits.max_activities`` (ties broken by name, so the pick is stable)."""
    occurrences: Counter[str] = Counter()
    for trace, n in uvcl.items():
        for activity in trace:
            occurrences[activity] += n
    ranked = sorted(occurrences.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(occurrences.values()) or 1
    kept: list[str] = []
    covered = 0
    for activity, n in ranked:
        if len(kept) >= max(1, limits.max_activities) or (
            kept and covered / total >= limits.activity_share
        ):
            break
        kept.append(activity)
        covered += n
    return ActivityFilter(tuple(kept), len(ranked), covered / total)


def project(uvcl: Counter[tuple[str, ...]], kept: tuple[str, ...]) -> Counter[tuple[str, ...]]:
    """The variants with only the ``kept`` activities (others left out of each trace)."""
    keep = set(kept)
    out: Counter[tuple[str, ...]] = Counter()
    for trace, n in uvcl.items():
        out[tuple(a for a in trace if a in keep)] += n
    return out


def variant_dfg(
    uvcl: Counter[tuple[str, ...]],
) -> tuple[Counter[tuple[str, str]], Counter[str], Counter[str], Counter[str]]:
    """Directly-follows counts, start, end and activity counts of variant counts."""
    graph: Counter[tuple[str, str]] = Counter()
    start: Counter[str] = Counter()
    end: Counter[str] = Counter()
    acts: Counter[str] = Counter()
    for trace, n in uvcl.items():
        if not trace:
            continue
        start[trace[0]] += n
        end[trace[-1]] += n
        for a in trace:
            acts[a] += n
        for a, b in zip(trace, trace[1:], strict=False):
            graph[(a, b)] += n
    return graph, start, end, acts


@dataclass
class Model:
    """A discovered Petri net (and the process tree when the inductive miner made it),
    with how it was made: the algorithm, the activity filter and what the budget cut."""

    net: Any
    initial_marking: Any
    final_marking: Any
    tree: Any = None
    miner: Miner = "inductive"
    algorithm: str = "IMf"  # IM, IMf, IMd or heuristics
    activities: ActivityFilter | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

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


def imd_tree(uvcl: Counter[tuple[str, ...]]) -> Any:
    """pm4py's inductive miner on the directly-follows graph (IMd): its cuts look at the
    graph only, so its cost depends on the activities, not on the log or its variants."""
    from pm4py.algo.discovery.inductive.dtypes.im_dfg import InductiveDFG
    from pm4py.algo.discovery.inductive.dtypes.im_ds import IMDataStructureDFG
    from pm4py.algo.discovery.inductive.variants.imd import IMD
    from pm4py.objects.dfg.obj import DFG
    from pm4py.objects.process_tree.utils import generic as pt_util

    graph, start, end, _ = variant_dfg(uvcl)
    dfg = DFG()
    dfg.graph.update(graph)
    dfg.start_activities.update(start)
    dfg.end_activities.update(end)
    idfg = InductiveDFG(dfg=dfg, skip=() in uvcl)
    tree = pt_util.fold(IMD({}).apply(IMDataStructureDFG(idfg), {}))
    pt_util.tree_sort(tree)
    return tree


def discover_model(
    con: duckdb.DuckDBPyConnection,
    miner: Miner = "inductive",
    noise_threshold: float = 0.2,
    dependency_threshold: float = 0.5,
    limits: ModelLimits | None = None,
) -> Model:
    """A process model of the loaded log, by pm4py's inductive or heuristics miner, bounded
    by ``limits`` (``inductive_model``)."""
    if miner == "inductive":
        return inductive_model(variant_counts(con), noise_threshold, limits)
    if miner == "heuristics":
        return heuristics_model(variant_counts(con), dependency_threshold, limits)
    raise DvcflowError(f"--miner {miner!r} is not one of inductive, heuristics.")


def inductive_model(
    uvcl: Counter[tuple[str, ...]], noise_threshold: float = 0.2, limits: ModelLimits | None = None
) -> Model:
    """The inductive miner's model from variant counts (``variant_counts``); pure Python,
    so it can run in a thread while DuckDB works.

    Bounded by design: the model holds at most ``limits.max_activities`` activities (the
    most frequent); the variants are mined (IMf) only when they are few and the activities
    few, within ``limits.seconds``; otherwise, or past that budget, the directly-follows
    graph is (IMd). ``Model.algorithm``, ``activities`` and ``notes`` say which happened.
    """
    import pm4py

    from mining.budget import OverBudget, within

    limits = limits or ModelLimits()
    started = time.perf_counter()
    kept = top_activities(uvcl, limits)
    log = uvcl if len(kept.kept) == kept.total else project(uvcl, kept.kept)
    notes: list[str] = []
    tree = None
    algorithm = "IMf" if noise_threshold > 0 else "IM"
    if len(kept.kept) > limits.imf_max_activities or len(log) > limits.imf_max_variants:
        notes.append(
            f"{len(kept.kept)} activities and {len(log)} variants: above the variant miner's "
            f"limits ({limits.imf_max_activities} activities, {limits.imf_max_variants} "
            "variants), so the model comes from the directly-follows graph (IMd)"
        )
    else:
        try:
            tree = within(limits.seconds, inductive_tree, log, noise_threshold)
        except OverBudget:
            notes.append(
                f"{algorithm} did not finish within {limits.seconds:g} s; the model comes "
                "from the directly-follows graph (IMd)"
            )
    if tree is None:
        tree, algorithm = imd_tree(log), "IMd"
    net, im, fm = pm4py.convert_to_petri_net(tree)
    return Model(
        net,
        im,
        fm,
        tree=tree,
        miner="inductive",
        algorithm=algorithm,
        activities=kept,
        notes=notes,
        seconds=time.perf_counter() - started,
    )


def heuristics_model(
    uvcl: Counter[tuple[str, ...]],
    dependency_threshold: float = 0.5,
    limits: ModelLimits | None = None,
) -> Model:
    """The heuristics miner's net from the directly-follows graph of the variants, on the
    same most frequent activities as ``inductive_model``."""
    from pm4py.algo.discovery.heuristics.variants import classic as heuristics

    limits = limits or ModelLimits()
    started = time.perf_counter()
    kept = top_activities(uvcl, limits)
    log = uvcl if len(kept.kept) == kept.total else project(uvcl, kept.kept)
    graph, start, end, acts = variant_dfg(log)
    net, im, fm = heuristics.apply_dfg(
        dict(graph),
        activities=list(acts),
        activities_occurrences=dict(acts),
        start_activities=dict(start),
        end_activities=dict(end),
        parameters={"dependency_thresh": dependency_threshold},
    )
    return Model(
        net,
        im,
        fm,
        miner="heuristics",
        algorithm="heuristics",
        activities=kept,
        seconds=time.perf_counter() - started,
    )


def model_quality(
    model: Model, uvcl: Counter[tuple[str, ...]], limits: ModelLimits | None = None
) -> dict[str, Any]:
    """Fitness and precision of ``model`` against the log (its variants on the model's
    activities), by pm4py's token-based replay, each within ``limits.seconds``
    (``replay_fitness``). Precision (ETConformance) runs on the variants the fitness
    replayed, at most the ``PRECISION_VARIANTS`` most frequent (``precision_share`` says
    which share of the dossiers they hold); past its budget it is None and a note says so."""
    from mining.budget import OverBudget, within

    limits = limits or ModelLimits()
    log = uvcl if model.activities is None else project(uvcl, model.activities.kept)
    petri = (model.net, model.initial_marking, model.final_marking)
    result, replayed = replay_fitness(petri, log, limits.seconds)
    precision = None
    measured = replayed[:PRECISION_VARIANTS]
    if measured:
        try:
            precision = within(limits.seconds, _precision, measured, petri)
        except OverBudget:
            result["notes"].append(f"precision did not finish within {limits.seconds:g} s")
    total = sum(log.values()) or 1
    return {
        "method": "token-based replay (pm4py)",
        **result,
        "precision": precision,
        "precision_share": sum(n for _, n in measured) / total if precision is not None else None,
    }


def replay_fitness(
    petri: tuple[Any, Any, Any], uvcl: Counter[tuple[str, ...]], seconds: float
) -> tuple[dict[str, Any], list[tuple[tuple[str, ...], int]]]:
    """pm4py's token-based replay fitness of the variants on a Petri net (net, initial and
    final marking), frequency-weighted, and the variants replayed.

    Variants are replayed most frequent first, in growing batches, until ``seconds`` are
    spent: ``replayed_share`` says which share of the dossiers the figures cover."""
    from mining.budget import OverBudget, within

    ranked = uvcl.most_common()
    total = sum(uvcl.values())
    sums = dict(missing=0, consumed=0, remaining=0, produced=0, fit=0, cases=0)
    replayed: list[tuple[tuple[str, ...], int]] = []
    notes: list[str] = []
    deadline = time.monotonic() + seconds
    at, size = 0, 50
    while at < len(ranked):  # batches that double: a replay call has a fixed cost
        batch = ranked[at : at + size]
        at, size = at + size, size * 2
        try:
            diagnostics = within(deadline - time.monotonic(), _replay, batch, petri)
        except OverBudget:
            notes.append(
                f"replay stopped at its {seconds:g} s budget after {len(replayed)} of "
                f"{len(ranked)} variants"
            )
            break
        for (_, n), d in zip(batch, diagnostics, strict=True):
            sums["missing"] += n * d["missing_tokens"]
            sums["consumed"] += n * d["consumed_tokens"]
            sums["remaining"] += n * d["remaining_tokens"]
            sums["produced"] += n * d["produced_tokens"]
            sums["fit"] += n * bool(d["trace_is_fit"])
            sums["cases"] += n
        replayed.extend(batch)
    fitness = None
    if sums["cases"]:
        fitness = 0.5 * (1 - sums["missing"] / max(sums["consumed"], 1)) + 0.5 * (
            1 - sums["remaining"] / max(sums["produced"], 1)
        )
    result = {
        "fitness": fitness,
        "fitting_share": sums["fit"] / sums["cases"] if sums["cases"] else None,
        "replayed_share": sums["cases"] / total if total else None,
        "variants_replayed": len(replayed),
        "variants": len(ranked),
        "notes": notes,
    }
    return result, replayed


def _event_log(variants: list[tuple[tuple[str, ...], int]], repeat: bool) -> Any:
    from pm4py.objects.log.obj import Event, EventLog, Trace

    traces = []
    for trace, n in variants:
        copy = Trace([Event({"concept:name": a}) for a in trace])
        traces.extend([copy] * (n if repeat else 1))
    return EventLog(traces)


def _replay(variants: list[tuple[tuple[str, ...], int]], petri: tuple) -> list[dict]:
    from pm4py.algo.conformance.tokenreplay import algorithm as token_replay

    return token_replay.apply(
        _event_log(variants, repeat=False), *petri, parameters={"show_progress_bar": False}
    )


def _precision(variants: list[tuple[tuple[str, ...], int]], petri: tuple) -> float:
    """ETConformance weighs prefixes by how many traces share them: each variant is given
    as many times as it occurs (the same Trace object, so no copy per dossier)."""
    from pm4py.algo.evaluation.precision import algorithm as precision_evaluator

    return precision_evaluator.apply(
        _event_log(variants, repeat=True),
        *petri,
        variant=precision_evaluator.Variants.ETCONFORMANCE_TOKEN,
        parameters={"show_progress_bar": False},
    )


def model_summary(model: Model) -> dict[str, Any]:
    """Size of the model and how it was made, for the JSON report."""
    visible = [t for t in model.net.transitions if t.label is not None]
    kept = model.activities
    return {
        "miner": model.miner,
        "algorithm": model.algorithm,
        "filter": kept.describe() if kept is not None else "none",
        "activities_kept": len(kept.kept) if kept is not None else None,
        "activities_total": kept.total if kept is not None else None,
        "occurrence_share": kept.occurrence_share if kept is not None else None,
        "notes": model.notes,
        "seconds": round(model.seconds, 3),
        "places": len(model.net.places),
        "transitions": len(model.net.transitions),
        "visible_transitions": len(visible),
        "arcs": len(model.net.arcs),
        "tree": str(model.tree) if model.tree is not None else None,
    }


def readable_map(
    activities: dict[str, int],
    edges: list[tuple[str, str, int]],
    max_activities: int | None,
    path_share: float,
) -> tuple[set[str], list[int]]:
    """The process map a reader can take in, as Disco's two sliders make it: the
    ``max_activities`` most frequent activities (None: all), then the most frequent paths
    among them covering ``path_share`` of their transitions. Each kept activity keeps its
    most frequent incoming and outgoing path too, so no box floats unconnected.

    ``activities``: occurrences per activity; ``edges``: (source, target, frequency).
    Returns the kept activities and the indexes of the kept edges (in ``edges``)."""
    ranked = sorted(activities, key=lambda a: (-activities[a], a))
    kept = set(ranked if max_activities is None else ranked[: max(1, max_activities)])
    inner = [i for i, (s, t, _) in enumerate(edges) if s in kept and t in kept]
    inner.sort(key=lambda i: -edges[i][2])
    total = sum(edges[i][2] for i in inner) or 1
    chosen: list[int] = []
    covered = 0
    for i in inner:
        if chosen and covered / total >= path_share:
            break
        chosen.append(i)
        covered += edges[i][2]
    best_in: dict[str, int] = {}
    best_out: dict[str, int] = {}
    for i in inner:  # most frequent first: the first seen is the best
        s, t, _ = edges[i]
        if s != t:
            best_out.setdefault(s, i)
            best_in.setdefault(t, i)
    picked = set(chosen) | set(best_in.values()) | set(best_out.values())
    return kept, [i for i in inner if i in picked]
