"""``generate(...)``: the synthetic log with its ground truth, as one call."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from dvcflow.errors import DvcflowError
from sample_logs.catalog import Procedure, load_catalog
from sample_logs.generator.clock import OfficeClock
from sample_logs.generator.dossiers import communes_flat, sample_dossiers
from sample_logs.generator.events import EventBuffer
from sample_logs.generator.output import build_table, write_outputs
from sample_logs.generator.profiles import PERIOD, PLANTED, profile_for
from sample_logs.generator.simulate import ProcedureWalk
from sample_logs.generator.truth import measure_ground_truth
from sample_logs.workdays import WorkCalendar

Progress = Callable[[str, float], None]  # (what is happening, fraction done)


@dataclass
class GenerateResult:
    out: Path | None
    cases: int
    events: int
    seconds: float
    table: pa.Table = field(repr=False)
    ground_truth: dict[str, Any] = field(repr=False)
    paths: dict[str, Path] = field(default_factory=dict)


def select_procedures(
    procedures: str | Sequence[str] | None, catalog: dict[str, Procedure]
) -> list[Procedure]:
    """``"all"``/None -> every catalog procedure; else the codes given (comma-separated ok)."""
    if procedures is None or procedures == "all":
        return list(catalog.values())
    codes = procedures.split(",") if isinstance(procedures, str) else list(procedures)
    codes = [c.strip() for c in codes if c.strip()]
    unknown = [c for c in codes if c not in catalog]
    if unknown or not codes:
        raise DvcflowError(
            f"--procedures: {', '.join(unknown) or '(empty)'} not in the catalog; "
            f"known codes: {', '.join(catalog)}."
        )
    return [catalog[c] for c in dict.fromkeys(codes)]


def generate(
    procedures: str | Sequence[str] | None = "all",
    cases: int = 3000,
    seed: int = 0,
    out: Path | None = None,
    *,
    period: tuple[date, date] = PERIOD,
    catalog: dict[str, Procedure] | None = None,
    progress: Progress | None = None,
    gzip_csv: bool = False,
) -> GenerateResult:
    """Generate ``cases`` dossiers; write events.parquet/.csv + ground_truth.json to ``out``.

    With ``out=None`` nothing is written (the table and ground truth are returned);
    ``gzip_csv`` writes ``events.csv.gz`` instead of ``events.csv``.
    Deterministic: the same arguments give the same files.
    """
    if cases < 1:
        raise DvcflowError(f"--cases must be at least 1, got {cases}.")
    began = time.perf_counter()
    report = progress or (lambda _what, _done: None)
    catalog = catalog if catalog is not None else load_catalog()
    procs = select_procedures(procedures, catalog)
    profiles = [profile_for(p) for p in procs]
    calendar = WorkCalendar()
    clock = OfficeClock(calendar, period[0].year, period[1].year + 1)
    rng = np.random.default_rng(seed)
    codes, _, _ = communes_flat()

    report("sampling dossiers", 0.0)
    dossiers = sample_dossiers(rng, profiles, cases, period, calendar, clock, PLANTED)
    buf = EventBuffer()
    for i, (proc, prof) in enumerate(zip(procs, profiles, strict=True)):
        report(f"simulating {proc.code}", 0.05 + 0.6 * i / len(procs))
        idx = np.flatnonzero(dossiers.proc == i)
        walk_rng = np.random.default_rng([seed, i])
        ProcedureWalk(
            proc, prof, dossiers, idx, codes, walk_rng, clock, calendar, PLANTED, buf
        ).run()

    report("building the event table", 0.65)
    cutoff = np.datetime64(period[1] + timedelta(days=1)).astype("datetime64[s]").astype(np.int64)
    table = build_table(buf, dossiers, [p.code for p in procs], codes, int(cutoff))
    report("measuring the ground truth", 0.75)
    truth = measure_ground_truth(table, procs, calendar, PLANTED, period)
    truth["generator"] = {
        "seed": seed,
        "cases": len(dossiers),
        "events": table.num_rows,
        "period": [period[0].isoformat(), period[1].isoformat()],
        "extracted_at": (period[1] + timedelta(days=1)).isoformat() + "T00:00:00+07:00",
        "procedures": [p.code for p in procs],
    }
    paths: dict[str, Path] = {}
    if out is not None:
        report("writing files", 0.85)
        paths = write_outputs(table, Path(out), gzip_csv=gzip_csv)
        gt = Path(out) / "ground_truth.json"
        gt.write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        paths["ground_truth"] = gt
    report("done", 1.0)
    return GenerateResult(
        out=Path(out) if out is not None else None,
        cases=len(dossiers),
        events=table.num_rows,
        seconds=time.perf_counter() - began,
        table=table,
        ground_truth=truth,
        paths=paths,
    )
