"""Mining: reads the event store and discovers how procedures really run.

The functions a notebook needs are importable from here (see README "Analysing
procedures"); they load on first use, so importing ``mining.filters`` stays cheap for the CLI.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "AnalysisOptions": "mining.analysis",
    "analyze": "mining.analysis",
    "analyze_loaded": "mining.analysis",
    "discover": "mining.analysis",
    "export_model": "mining.analysis",
    "bottlenecks": "mining.bottlenecks",
    "handoffs": "mining.bottlenecks",
    "service_times": "mining.bottlenecks",
    "step_waits": "mining.bottlenecks",
    "work_in_progress": "mining.bottlenecks",
    "conformance": "mining.conformance",
    "DeadlineRules": "mining.deadlines",
    "build_deadlines": "mining.deadlines",
    "sla_summary": "mining.deadlines",
    "Model": "mining.discovery",
    "dfg_edges": "mining.discovery",
    "discover_model": "mining.discovery",
    "variant_counts": "mining.discovery",
    "LogFilter": "mining.filters",
    "load_log": "mining.log",
    "rework": "mining.rework",
    "variants": "mining.variants",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mining' has no attribute {name!r}")
