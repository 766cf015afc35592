"""dvcflow beside plain pm4py on the real logs of ../shared/real_logs.

For each log, each side runs in its own fresh process (so peak memory is its own):
- dvcflow: ``import_file`` into an empty store, then ``analyze`` with default options
  (bounded models with fitness/precision, conformance);
- pm4py: ``read_xes`` (CSV: pandas + ``format_dataframe``), ``discover_dfg``,
  ``discover_performance_dfg``, ``get_variants``, then ``discover_process_tree_inductive``
  with default options under ``--limit`` seconds ("did not finish" past it).

Prints one table: times, peak memory and the ratios dvcflow / pm4py.

    flock /tmp/dvcflow-bench.lock .venv/bin/python benchmarks/bench_real_logs.py \\
        --logs receipt.xes.gz BPIC15_1.xes.gz --limit 60
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import queue
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REAL_LOGS = REPO.parent / "shared" / "real_logs"
sys.path.insert(0, str(REPO))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _dvcflow(name: str, out: mp.Queue) -> None:
    os.environ.setdefault("DVCFLOW_PSEUDONYM_KEY", "bench-key-not-a-secret-0123456789abcdef")
    from ingest.importers import ImportOptions, import_file
    from ingest.pseudonym import Pseudonymizer
    from ingest.store import EventStore
    from mining.analysis import AnalysisOptions, analyze
    from mining.filters import LogFilter
    from tests.mining.conftest import CORPUS

    store = EventStore(tempfile.mkdtemp(prefix="bench-real-"))
    started = time.perf_counter()
    report = import_file(
        REAL_LOGS / name,
        store,
        ImportOptions(procedure="bench", **CORPUS.get(name, {})),
        pseudonymizer=Pseudonymizer(b"bench" * 8),
    )
    imported = time.perf_counter()
    result = analyze(store, LogFilter(procedure="bench"), AnalysisOptions(), use_cache=False)
    done = time.perf_counter()
    model = result["models"]["inductive"]
    quality = model.get("quality") or {}
    out.put(
        {
            "events": report.written,
            "import_s": imported - started,
            "analyze_s": done - imported,
            "peak_mb": _peak_mb(),
            "model": f"{model['algorithm']} {model['activities_kept']}/{model['activities_total']}",
            "fitness": quality.get("fitness"),
            "precision": quality.get("precision"),
        }
    )


def _pm4py(name: str, out: mp.Queue) -> None:
    import warnings

    warnings.simplefilter("ignore")
    import pm4py

    from tests.mining.conftest import CORPUS, pm4py_frame

    started = time.perf_counter()
    df = pm4py_frame(REAL_LOGS / name, CORPUS.get(name, {}))
    read = time.perf_counter()
    pm4py.discover_dfg(df)
    pm4py.discover_performance_dfg(df)
    pm4py.get_variants(df)
    figures = time.perf_counter()
    out.put({"read_s": read - started, "figures_s": figures - read, "peak_mb": _peak_mb()})
    tree = pm4py.discover_process_tree_inductive(df)
    out.put({"im_s": time.perf_counter() - figures, "tree_leaves": len(str(tree))})


def _run(target, name: str, limit: float) -> dict:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(name, out))
    proc.start()
    result: dict = {}
    deadline = time.monotonic() + limit
    while proc.is_alive() or not out.empty():
        with contextlib.suppress(queue.Empty):
            result |= out.get(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        if time.monotonic() > deadline and proc.is_alive():
            proc.kill()
            result["did_not_finish"] = True
            break
    proc.join()
    return result


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "–" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", nargs="*", help="file names (default: every XES/CSV log)")
    parser.add_argument("--limit", type=float, default=60.0, help="pm4py IM time limit (s)")
    args = parser.parse_args()
    names = args.logs or sorted(
        p.name
        for p in REAL_LOGS.iterdir()
        if (".xes" in p.name or ".csv" in p.name) and "_small" not in p.name
    )
    print(
        "| log | events | dvcflow import s | pm4py read s | ratio | dvcflow analyze s "
        "(model) | pm4py DFG+perf+variants s | pm4py IM s | fitness | precision "
        "| peak MB dvcflow / pm4py |"
    )
    print("|---" * 11 + "|")
    for name in names:
        mine = _run(_dvcflow, name, 600)
        theirs = _run(_pm4py, name, args.limit + 30)  # + reading and figures
        im = _fmt(theirs.get("im_s"), ".1f")
        if "im_s" not in theirs:
            im = f"did not finish in {args.limit:g}"
        ratio = (
            mine["import_s"] / theirs["read_s"] if "import_s" in mine and "read_s" in theirs
            else None
        )  # fmt: skip
        print(
            f"| {name} | {mine.get('events', '–')} | {_fmt(mine.get('import_s'))} "
            f"| {_fmt(theirs.get('read_s'))} | {_fmt(ratio)} "
            f"| {_fmt(mine.get('analyze_s'))} ({mine.get('model', '–')}) "
            f"| {_fmt(theirs.get('figures_s'))} | {im} | {_fmt(mine.get('fitness'), '.3f')} "
            f"| {_fmt(mine.get('precision'), '.3f')} "
            f"| {_fmt(mine.get('peak_mb'), '.0f')} / {_fmt(theirs.get('peak_mb'), '.0f')} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
