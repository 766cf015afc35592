"""The full analysis of one procedure (or any filtered set of dossiers), as one dict.

``analyze`` loads the log once (``mining.log``), runs every analysis over the same DuckDB
tables and returns plain JSON-able data: what ``dvcflow analyze --json`` prints and what the
dashboard and API show. Results are cached by store version, filter and options.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import duckdb

from dvcflow.settings import Settings, or_environment
from ingest.store import EventStore
from mining.bottlenecks import bottlenecks
from mining.cache import analysis_cache
from mining.conformance import conformance
from mining.deadlines import RESULT_ACTIVITIES, DeadlineRules, build_deadlines, sla_summary
from mining.discovery import (
    Miner,
    Model,
    ModelLimits,
    activity_counts,
    dfg_edges,
    discover_model,
    heuristics_model,
    inductive_model,
    model_quality,
    model_summary,
    variant_counts,
)
from mining.filters import LogFilter
from mining.log import cursor, load_log
from mining.rework import rework
from mining.variants import variants
from sample_logs.workdays import default_calendar


@dataclass(frozen=True)
class AnalysisOptions:
    """What to compute; part of the cache key."""

    noise_threshold: float | None = None  # None: settings.noise_threshold
    top_variants: int = 20
    discover: bool = True  # pm4py models (inductive + heuristics), bounded (ModelLimits)
    quality: bool = True  # the inductive model's fitness and precision (token replay)
    conformance: bool = True  # needs a catalog entry
    as_of: datetime | None = None  # "now" for open dossiers; None: the log's last event

    def key(self) -> tuple:
        return tuple(sorted(asdict(self).items()))


def catalog_procedure(code: str | None, settings: Settings | None = None) -> Any | None:
    """The catalog entry of a procedure code in ``settings``' catalog, or None (foreign logs
    have none)."""
    if code is None:
        return None
    from sample_logs.catalog import get_procedure

    return get_procedure(code, settings)


def _procedure_codes(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT procedure_code FROM cases").fetchall()]


def case_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Dossier counts and cycle times (finished dossiers, first to last event)."""
    row = con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE finished),
               median(duration_s) FILTER (WHERE finished),
               avg(duration_s) FILTER (WHERE finished),
               quantile_cont(duration_s, 0.9) FILTER (WHERE finished),
               min(first_ts), max(last_ts), count(DISTINCT province_code),
               count(DISTINCT commune_code)
        FROM cases
        """
    ).fetchone()
    channels = dict(
        con.execute(
            "SELECT coalesce(channel, 'unknown'), count(*) FROM cases GROUP BY ALL"
        ).fetchall()
    )
    return {
        "count": row[0],
        "finished": row[1],
        "open": row[0] - row[1],
        "median_duration_s": row[2],
        "mean_duration_s": row[3],
        "p90_duration_s": row[4],
        "first": row[5],
        "last": row[6],
        "provinces": row[7],
        "communes": row[8],
        "channels": channels,
    }


def _procedure_info(codes: list[str], settings: Settings) -> tuple[dict[str, Any], Any | None]:
    if len(codes) != 1:
        return {"code": None, "codes": sorted(codes), "in_catalog": False}, None
    proc = catalog_procedure(codes[0], settings)
    info: dict[str, Any] = {"code": codes[0], "in_catalog": proc is not None}
    if proc is not None:
        info |= {
            "name": {"vi": proc.name.vi, "en": proc.name.en},
            "level": str(proc.level),
            "deadline_working_days": proc.deadline_working_days,
        }
    return info, proc


def catalog_deadlines(
    codes: list[str], settings: Settings | None = None
) -> tuple[dict[str, int], list[str]]:
    """The statutory deadline (working days) of each catalogued procedure of ``codes`` and the
    steps that return the result (processing ends before them): what ``build_deadlines`` takes,
    for the analysis and for one dossier's timeline alike."""
    deadlines, results = {}, set(RESULT_ACTIVITIES)
    for code in codes:
        entry = catalog_procedure(code, settings)
        if entry is not None:
            deadlines[code] = entry.deadline_working_days
            results |= {s.code for s in entry.steps if s.kind == "result"}
    return deadlines, sorted(results)


def analyze_loaded(
    con: duckdb.DuckDBPyConnection,
    options: AnalysisOptions | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The full analysis over a connection prepared by ``load_log``, under ``settings``
    (catalog, calendar, deadline rules, model limits; without: the environment's).

    Bottlenecks and rework read only ``steps`` and ``cases``: they run on cursors beside
    the deadlines, which the variants then need (DuckDB releases the GIL, and each of these
    has stretches on one core); pm4py's models run on aggregates in their own thread."""
    options = options or AnalysisOptions()
    settings = or_environment(settings)
    codes = _procedure_codes(con)
    info, proc = _procedure_info(codes, settings)
    deadlines, results = catalog_deadlines(codes, settings)
    counts = activity_counts(con)
    edges = dfg_edges(con)
    models = None
    if options.discover:
        models = _POOL.submit(
            _models, variant_counts(con), _noise(options, settings), options.quality, settings
        )
    beside = {
        name: _POOL.submit(_on_cursor, fn, con, settings.timezone) for name, fn in _BESIDE.items()
    }
    try:
        has_due = build_deadlines(
            con, deadlines, DeadlineRules.from_settings(settings), options.as_of, results, settings
        )
        summary = case_summary(con)
        sla = sla_summary(con) if has_due else None
        top = variants(con, options.top_variants, calendar=default_calendar(settings))
        checked = (
            conformance(con, proc, seconds=ModelLimits.from_settings(settings).seconds)
            if options.conformance
            else None
        )
    finally:  # the caller closes the connection: its cursors must be done by then
        wait(beside.values())
    result: dict[str, Any] = {
        "procedure": info,
        "cases": summary,
        "events": con.execute("SELECT count(*) FROM log_base").fetchone()[0],
        "dfg": {
            "edges": edges,
            "activities": counts["activities"],
            "start": counts["start"],
            "end": counts["end"],
        },
        "bottlenecks": beside["bottlenecks"].result(),
        "sla": sla,
        "rework": beside["rework"].result(),
        "variants": top,
        "conformance": checked,
    }
    if models is not None:
        result["models"] = models.result()
    return result


# Tasks never wait on each other, so a shared bounded pool cannot deadlock.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dvcflow-analysis")
_BESIDE = {"bottlenecks": bottlenecks, "rework": rework}


def _on_cursor(fn: Any, con: duckdb.DuckDBPyConnection, timezone: str) -> Any:
    cur = cursor(con, timezone)
    try:
        return fn(cur)
    finally:
        cur.close()


def _models(
    uvcl: Counter[tuple[str, ...]], noise: float, quality: bool, settings: Settings
) -> dict[str, Any]:
    """Summaries of both pm4py models (how each was made, its size, and for the inductive
    one its fitness and precision), bounded by ``ModelLimits``; touches no DuckDB
    connection."""
    limits = ModelLimits.from_settings(settings)
    inductive = inductive_model(uvcl, noise, limits)
    summary = model_summary(inductive)
    if quality:
        summary["quality"] = model_quality(inductive, uvcl, limits)
    return {
        "inductive": summary,
        "heuristics": model_summary(heuristics_model(uvcl, limits=limits)),
    }


def _noise(options: AnalysisOptions, settings: Settings) -> float:
    if options.noise_threshold is not None:
        return options.noise_threshold
    return settings.noise_threshold


def analyze(
    store: EventStore,
    flt: LogFilter,
    options: AnalysisOptions | None = None,
    *,
    use_cache: bool = True,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Everything the issue asks of one filtered log, under ``settings`` (without: the
    environment's, for notebooks); see docs/internals.md for the keys.

    Example: ``analyze(EventStore("data"), LogFilter(procedure="1.001193"))["sla"]``.
    """
    options = options or AnalysisOptions()
    settings = or_environment(settings)

    def compute() -> dict[str, Any]:
        con = load_log(store, flt, settings=settings)
        try:
            return analyze_loaded(con, options, settings) | {
                "filter": flt.describe(),
                "store_version": version,
            }
        finally:
            con.close()

    version = store.version()
    if not use_cache:
        return compute()
    key = (
        str(store.data_dir.resolve()),
        version,
        flt.key(),
        options.key(),
        settings.model_dump_json(),
    )
    return analysis_cache(settings).get_or_compute(key, compute)


def discover(
    store: EventStore,
    flt: LogFilter,
    miner: Miner = "inductive",
    noise: float | None = None,
    settings: Settings | None = None,
) -> Model:
    """A pm4py process model of the filtered log (export it with ``Model.export``)."""
    settings = or_environment(settings)
    con = load_log(store, flt, settings=settings)
    try:
        return discover_model(
            con,
            miner,
            settings.noise_threshold if noise is None else noise,
            limits=ModelLimits.from_settings(settings),
        )
    finally:
        con.close()


def export_model(
    store: EventStore,
    flt: LogFilter,
    path: Path,
    miner: Miner = "inductive",
    noise: float | None = None,
    fmt: Literal["bpmn", "pnml"] | None = None,
    settings: Settings | None = None,
) -> Path:
    """Discover and write the model as BPMN or PNML (``fmt``, else by ``path``'s suffix)."""
    return discover(store, flt, miner, noise, settings).export(path, fmt)
