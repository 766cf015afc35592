"""Mining: reads the event store and discovers how procedures really run.

The functions a notebook needs are importable from here (see README "Analysing
procedures"). pm4py loads only when a model is discovered.
"""

from mining.analysis import AnalysisOptions, analyze, analyze_loaded, discover, export_model
from mining.bottlenecks import bottlenecks, handoffs, service_times, step_waits, work_in_progress
from mining.conformance import conformance
from mining.deadlines import DeadlineRules, build_deadlines, sla_summary
from mining.discovery import Model, dfg_edges, discover_model, variant_counts
from mining.filters import LogFilter
from mining.log import load_log, narrow_log
from mining.rework import rework
from mining.variants import variants

__all__ = [
    "AnalysisOptions",
    "DeadlineRules",
    "LogFilter",
    "Model",
    "analyze",
    "analyze_loaded",
    "bottlenecks",
    "build_deadlines",
    "conformance",
    "dfg_edges",
    "discover",
    "discover_model",
    "export_model",
    "handoffs",
    "load_log",
    "narrow_log",
    "rework",
    "service_times",
    "sla_summary",
    "step_waits",
    "variant_counts",
    "variants",
    "work_in_progress",
]
