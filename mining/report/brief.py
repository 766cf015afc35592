"""The content of a reform brief: one dict, rendered as HTML or XLSX by its siblings."""

from __future__ import annotations

from datetime import UTC, datetime

from dvcflow.settings import Settings, or_environment
from ingest.store import EventStore
from mining.bottlenecks import step_waits
from mining.discovery import dfg_edges
from mining.filters import LogFilter
from mining.log import load_log
from mining.reform.candidates import candidates_from
from mining.reform.readiness import readiness_from
from mining.reform.service_index import kpi_from
from mining.reform.source import require_procedure, steps_from
from mining.reform.whatif import Change, whatif_from
from mining.reform.whatif import _assumptions as whatif_assumptions
from mining.report.processmap import process_map_svg

TOP_WHATIFS = 3


def build_brief(store: EventStore, flt: LogFilter, settings: Settings | None = None) -> dict:
    """Everything the brief shows, computed once from one load of the log, under
    ``settings`` (without: the environment's, for notebooks)."""
    proc = require_procedure(flt, "report")
    settings = or_environment(settings)
    con = load_log(store, flt, settings=settings)
    log = steps_from(con, flt, settings)
    cands = candidates_from(log, proc)
    ready = readiness_from(log)["procedures"][0]
    whatifs = []
    for c in cands["candidates"]:
        if c["whatif"] is None or c["recommendation"] == "keep" or len(whatifs) >= TOP_WHATIFS:
            continue
        w = whatif_from(log, proc, by=cands["by"], changes=[Change(**c["whatif"])])
        whatifs.append(
            {
                "step": c["step"],
                "label": c["label"],
                "unit": c["unit"],
                "action": c["whatif"]["action"],
                "affected_dossiers": w["affected_dossiers"],
                "saving_hours_per_affected_dossier": w["saving_hours_per_affected_dossier"],
                "saving_working_days_per_affected_dossier": w[
                    "saving_working_days_per_affected_dossier"
                ],
                "baseline": w["baseline"],
                "scenario": w["scenario"],
            }
        )
    steps = [c for c in cands["candidates"] if c["kind"] == "step"]
    labels = {c["step"]: c["label"] for c in steps}
    order = [c["step"] for c in sorted(steps, key=lambda c: _order(log, proc, c))]
    counts = log.steps[log.steps["procedure_code"] == proc].groupby("activity").size()
    nodes = [{"step": s, "label": labels[s]["vi"], "count": int(counts.get(s, 0))} for s in order]
    edges = dfg_edges(con)
    return {
        "procedure": proc,
        "name": cands["name"],
        "filter": flt.describe(),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dossiers": cands["dossiers"],
        "process_map_svg": process_map_svg(nodes, edges),
        "bottlenecks": step_waits(con)[:8],
        "readiness": ready,
        "candidates": cands["candidates"],
        "method": cands["method"],
        "whatif": whatifs,
        "whatif_assumptions": whatif_assumptions(settings.automated_step_minutes),
        "kpi": kpi_from(log, by="org-unit"),
    }


def _order(log, proc: str, cand: dict) -> tuple:
    info = log.info[(proc, cand["step"])]
    return (info.order, cand["step"])
