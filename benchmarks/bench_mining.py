"""Benchmark: the full mining analysis (all but conformance) against plain pm4py on pandas.

    .venv/bin/python benchmarks/bench_mining.py            # 1M events (both) + 10M (dvcflow)
    .venv/bin/python benchmarks/bench_mining.py --quick    # 200k events, both sides
    .venv/bin/python benchmarks/bench_mining.py --sizes 1000000,10000000 --pm4py-up-to 10000000

The table gives wall time, CPU seconds (all threads; steadier than wall time on a shared
machine) and peak memory per side, and the ratios from the same run.

Logs come from the generator (chunks of different seeds, ids prefixed per chunk) and are
written once into a store under ``--workdir``. Each side runs in its own fresh process so
that its peak memory (ru_maxrss) is its own; time includes reading the events.

dvcflow side: ``mining.analysis.analyze`` over the whole store (DFG with wait statistics,
inductive + heuristics models, step waits, service times, handoffs, WIP, deadlines, rework,
variants), no analysis cache. The store facts (does an event_id repeat, do events of a
dossier tie) are counted once per store version and kept in ``events/.mining-facts.json``,
as every dvcflow run does; the table says when a run had to count them. pm4py side: the
same log read into pandas, duplicates dropped, ``format_dataframe``, then pm4py's DFG,
performance DFG, performance DFG over org units (handoffs), variants, case durations,
inductive miner (same noise), heuristics net and rework per activity. The pm4py side
computes fewer figures (no service times, WIP or deadlines), so the ratio understates the
difference.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHUNK_CASES = 87_000  # about 1M events per generator chunk
NOISE = 0.2


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system time of this process, all threads: steadier than wall time on a
    shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- data -------------------------------------------------------------------------------
def build_store(target_events: int, workdir: Path) -> Path:
    """A store of about ``target_events`` generated events (reused when already built)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ingest.schema import conform_table
    from ingest.store import EventStore
    from sample_logs.generator import generate

    data = workdir / f"store-{target_events}"
    done = data / "DONE"
    if done.exists():
        return data
    store = EventStore(data)
    events, chunk = 0, 0
    while events < target_events:
        cases = min(CHUNK_CASES, max(1000, int(CHUNK_CASES * (target_events - events) / 1e6)))
        table = generate("all", cases=cases, seed=1000 + chunk, out=None).table
        prefix = pa.scalar(f"b{chunk}-")
        table = table.set_column(
            table.schema.get_field_index("case_id"),
            "case_id",
            pc.binary_join_element_wise(prefix, table["case_id"], ""),
        ).set_column(
            table.schema.get_field_index("event_id"),
            "event_id",
            pc.binary_join_element_wise(prefix, table["event_id"], ""),
        )
        store.write(conform_table(table), f"chunk-{chunk:03d}")
        events += table.num_rows
        chunk += 1
        print(f"  generated {events:,} events", file=sys.stderr)
    store.compact()
    done.write_text(str(events))
    return data


# --- the two sides (each in its own process) --------------------------------------------
def run_dvcflow(data: Path) -> dict:
    import pm4py  # noqa: F401 - imported before the clock starts, as on the pm4py side

    from ingest.store import EventStore
    from ingest.store_facts import FACTS_FILE
    from mining.analysis import AnalysisOptions, analyze
    from mining.filters import LogFilter

    store = EventStore(data)
    facts = store.root / FACTS_FILE
    cached = facts.exists() and f"{store.version()}|*" in json.loads(facts.read_bytes())
    t0, c0 = time.perf_counter(), cpu_seconds()
    result = analyze(
        store,
        LogFilter(),
        AnalysisOptions(noise_threshold=NOISE, conformance=False),
        use_cache=False,
    )
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "cpu_s": cpu_seconds() - c0,
        "peak_mib": peak_rss_mib(),
        "events": result["events"],
        "cases": result["cases"]["count"],
        "edges": len(result["dfg"]["edges"]),
        "variants": result["variants"]["distinct"],
        "facts_cached": cached,
    }


def run_pm4py(data: Path) -> dict:
    import pandas as pd
    import pm4py
    import pyarrow.parquet as pq

    from ingest.store import EventStore

    t0, c0 = time.perf_counter(), cpu_seconds()
    cols = ["event_id", "case_id", "activity", "timestamp", "lifecycle", "org_unit"]
    df = pd.concat(
        [pq.read_table(f, columns=cols).to_pandas() for f in EventStore(data).files()],
        ignore_index=True,
    )
    df = df.drop_duplicates("event_id")
    df = df[df["lifecycle"] != "start"]
    df = pm4py.format_dataframe(
        df, case_id="case_id", activity_key="activity", timestamp_key="timestamp"
    )
    dfg, _, _ = pm4py.discover_dfg(df)
    pm4py.discover_performance_dfg(df)
    pm4py.discover_performance_dfg(df, activity_key="org_unit")
    variants = pm4py.get_variants(df)
    pm4py.get_all_case_durations(df)
    pm4py.discover_process_tree_inductive(df, noise_threshold=NOISE)
    pm4py.discover_heuristics_net(df)
    pm4py.get_rework_cases_per_activity(df)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "cpu_s": cpu_seconds() - c0,
        "peak_mib": peak_rss_mib(),
        "events": len(df),
        "cases": int(df["case:concept:name"].nunique()),
        "edges": len(dfg),
        "variants": len(variants),
    }


def spawn(side: str, data: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", side, "--data", str(data)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{side} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200k events only, both sides")
    ap.add_argument("--sizes", default="1000000,10000000", help="event counts, comma-separated")
    ap.add_argument(
        "--pm4py-up-to", type=int, default=1_000_000, help="largest size pm4py also runs on"
    )
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/dvcflow-bench"))
    ap.add_argument("--worker", choices=["dvcflow", "pm4py"], help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        sys.path.insert(0, str(REPO))
        run = run_dvcflow if args.worker == "dvcflow" else run_pm4py
        print(json.dumps(run(args.data)))
        return

    os.environ.setdefault("DVCFLOW_MINING_THREADS", "2")
    os.environ.setdefault("DVCFLOW_MINING_MEMORY_LIMIT", "4GB")  # DuckDB spills beyond it
    sizes = [200_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    rows = []
    for size in sizes:
        data = build_store(size, args.workdir)
        ours = spawn("dvcflow", data)
        theirs = spawn("pm4py", data) if size <= args.pm4py_up_to else None
        rows.append((size, ours, theirs))
        print(f"  {size:,}: dvcflow {ours}, pm4py {theirs}", file=sys.stderr)

    print()
    print(
        f"{'events':>12} {'dossiers':>9} | {'dvcflow s':>9} {'cpu s':>6} {'MiB':>6} | "
        f"{'pm4py s':>8} {'cpu s':>6} {'MiB':>6} | {'speed-up':>8} {'cpu':>6} {'mem':>6} | checks"
    )
    print("-" * 118)
    for _size, ours, theirs in rows:
        if theirs:
            speed = theirs["seconds"] / ours["seconds"]
            cpu = theirs["cpu_s"] / ours["cpu_s"]
            mem = theirs["peak_mib"] / ours["peak_mib"]
            same = all(ours[k] == theirs[k] for k in ("cases", "edges"))
            tail = (
                f"{theirs['seconds']:8.1f} {theirs['cpu_s']:6.1f} {theirs['peak_mib']:6.0f} | "
                f"{speed:7.1f}x {cpu:5.1f}x {mem:5.2f}x | "
                f"dossiers, DFG edges {'equal' if same else 'DIFFER'}"
            )
        else:
            tail = (
                f"{'–':>8} {'–':>6} {'–':>6} | {'–':>8} {'–':>6} {'–':>6} | "
                "pm4py not run at this size"
            )
        counted = "" if ours["facts_cached"] else "; store facts counted in this run"
        print(
            f"{ours['events']:>12,} {ours['cases']:>9,} | {ours['seconds']:9.1f} "
            f"{ours['cpu_s']:6.1f} {ours['peak_mib']:6.0f} | {tail}{counted}"
        )
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("targets: >= 5x faster than pm4py at 1M events; 10M events < 60 s and < 6144 MiB.")


if __name__ == "__main__":
    main()
