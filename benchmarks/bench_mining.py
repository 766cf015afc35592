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
dossier tie) are counted once per store version and kept beside the partitions, as every
dvcflow run does; the table says when a run had to count them.

pm4py side: the same figures, the way a pm4py user computes them on a pandas log: the log
read into pandas, duplicates dropped, ``start``/``complete`` events paired into activity
instances (pandas), ``format_dataframe``; then pm4py's DFG, performance DFGs (activities and
org units), start/end activities, activity counts, variants, case durations, service times
(median and mean), inductive miner (same noise), heuristics net and rework per activity;
and, in vectorised pandas / numpy since pm4py has no function for them, the step waits per
step, per handoff and per province, WIP per day, supplement waits and due dates in
Vietnamese working days (dvcflow's own calendar, so both sides count the same days),
on-time status, time added by rework and per-variant median duration and on-time rate. The
table also prints how long pm4py's own calls took, apart from the pandas part.
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
    """The same figures as ``analyze`` with plain pm4py where it has a function for them and
    pandas / numpy for the rest (deadlines, WIP, per-province waits, per-variant rates)."""
    import numpy as np
    import pandas as pd
    import pm4py
    import pyarrow.parquet as pq

    from ingest.store import EventStore
    from sample_logs.catalog import get_procedure  # noqa: F401 - imported before the clock
    from sample_logs.workdays import default_calendar  # noqa: F401 - as on dvcflow's side

    t0, c0 = time.perf_counter(), cpu_seconds()
    cols = [
        "event_id", "case_id", "procedure_code", "activity", "timestamp", "lifecycle",
        "org_unit", "province_code", "channel", "outcome",
    ]  # fmt: skip
    df = pd.concat(
        [pq.read_table(f, columns=cols).to_pandas() for f in EventStore(data).files()],
        ignore_index=True,
    )
    df = df.drop_duplicates("event_id")
    inst = _instances(df)  # one row per activity instance, with its start time
    inst = pm4py.format_dataframe(
        inst,
        case_id="case_id",
        activity_key="activity",
        timestamp_key="timestamp",
        start_timestamp_key="start_timestamp",
    )
    start_key = {"start_timestamp_key": "start_timestamp"}
    dfg, _, _ = pm4py.discover_dfg(inst)
    pm4py.discover_performance_dfg(inst)
    pm4py.discover_performance_dfg(inst, activity_key="org_unit")
    pm4py.get_start_activities(inst)
    pm4py.get_end_activities(inst)
    pm4py.get_event_attribute_values(inst, "concept:name")
    variants = pm4py.get_variants(inst)
    plain = inst[["case:concept:name", "concept:name", "time:timestamp"]]
    plain.attrs = {}  # pm4py 2.7.23 fails on durations of a log with start timestamps
    durations = pm4py.get_all_case_durations(plain)
    for measure in ("median", "mean"):
        pm4py.get_service_time(inst, aggregation_measure=measure, **start_key)
    pm4py.discover_process_tree_inductive(inst, noise_threshold=NOISE)
    pm4py.discover_heuristics_net(inst)
    pm4py.get_rework_cases_per_activity(inst)
    pm4py_only = time.perf_counter() - t0, cpu_seconds() - c0

    cases = _pandas_figures(inst, df)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "cpu_s": cpu_seconds() - c0,
        "pm4py_only_s": pm4py_only[0],
        "pm4py_only_cpu_s": pm4py_only[1],
        "peak_mib": peak_rss_mib(),
        "events": len(df),
        "cases": len(cases),
        "edges": len(dfg),
        "variants": len(variants),
        "median_duration_s": float(np.median(durations)) if len(durations) else None,
    }


def _instances(df):
    """Lifecycle events as activity instances: each ``complete`` with the ``start`` before it
    (same dossier and activity, matched by their counts), a lone ``complete`` as its own
    start, and a ``start`` with no ``complete`` (yet) as an open instance, as dvcflow counts
    them."""
    import pandas as pd

    df = df.sort_values(["case_id", "timestamp"], kind="stable")
    key = ["case_id", "activity"]
    starts = df[df["lifecycle"] == "start"].copy()
    done = df[df["lifecycle"] != "start"].copy()
    starts["n"] = starts.groupby(key, sort=False).cumcount()
    done["n"] = done.groupby(key, sort=False).cumcount()
    done = done.merge(
        starts[[*key, "n", "timestamp"]].rename(columns={"timestamp": "start_timestamp"}),
        on=[*key, "n"],
        how="left",
    )
    done["start_timestamp"] = done["start_timestamp"].fillna(done["timestamp"])
    completes = done.groupby(key, sort=False).size().rename("completes")
    starts = starts.join(completes, on=key)
    still_open = starts[starts["n"] >= starts["completes"].fillna(0)]
    still_open = still_open.assign(start_timestamp=still_open["timestamp"])
    inst = pd.concat([done, still_open.drop(columns="completes")], ignore_index=True)
    return inst.drop(columns="n").sort_values(["case_id", "start_timestamp"], kind="stable")


def _stats(groups) -> object:
    """count, median, mean, p90 and sum of each group's waits (what dvcflow reports), each
    by pandas' own vectorised group method."""
    import pandas as pd

    return pd.DataFrame(
        {
            "count": groups.count(),
            "median": groups.median(),
            "mean": groups.mean(),
            "p90": groups.quantile(0.9),
            "sum": groups.sum(),
        }
    )


def _pandas_figures(inst, df):
    """What pm4py has no function for, in pandas and numpy; returns the per-dossier frame."""
    import numpy as np
    import pandas as pd

    from sample_logs.catalog import get_procedure
    from sample_logs.workdays import default_calendar

    inst = inst.reset_index(drop=True)
    by_case = inst.groupby("case_id", sort=False)
    # waits before each step, per step, per handoff (by province) and per province's edges
    inst["prev_activity"] = by_case["activity"].shift()
    inst["prev_org_unit"] = by_case["org_unit"].shift()
    prev_end = by_case["timestamp"].shift()
    inst["wait_s"] = (inst["start_timestamp"] - prev_end).dt.total_seconds().clip(lower=0)
    inst["service_s"] = (inst["timestamp"] - inst["start_timestamp"]).dt.total_seconds()
    events = df.groupby("case_id", sort=False)
    cases = events.agg(
        procedure_code=("procedure_code", "first"),
        province_code=("province_code", "first"),
        channel=("channel", "first"),
        first_ts=("timestamp", "min"),
        last_ts=("timestamp", "max"),
        outcome=("outcome", "last"),
    )
    cases["finished"] = cases["outcome"].notna()
    cases["duration_s"] = (cases["last_ts"] - cases["first_ts"]).dt.total_seconds()
    cases["channel"].value_counts()
    cases.loc[cases["finished"], "duration_s"].describe(percentiles=[0.5, 0.9])
    inst["province_code"] = inst["case_id"].map(cases["province_code"])
    edges = inst[inst["prev_activity"].notna()]
    _stats(edges.groupby("activity")["wait_s"])
    _stats(inst[inst["service_s"] > 0].groupby("activity")["service_s"])
    moved = edges[edges["prev_org_unit"] != edges["org_unit"]]
    _stats(
        moved.groupby(["province_code", "prev_org_unit", "org_unit", "prev_activity", "activity"])[
            "wait_s"
        ]
    ).sort_values("sum", ascending=False).head(50)
    per_province = _stats(
        edges.groupby(["province_code", "prev_activity", "activity"])["wait_s"]
    ).reset_index()
    per_province.sort_values("sum", ascending=False).groupby("province_code").head(3)
    # work in progress per day
    opened = cases["first_ts"].dt.floor("D").value_counts()
    closed = (
        cases.loc[cases["finished"], "last_ts"].dt.floor("D") + pd.Timedelta(days=1)
    ).value_counts()
    opened.sub(closed, fill_value=0).sort_index().cumsum()
    # rework: every execution of a step after its first, and the time it adds
    inst["run"] = inst.groupby(["case_id", "activity"], sort=False).cumcount()
    again = inst[inst["run"] > 0]
    again.groupby("activity").agg(
        cases=("case_id", "nunique"), added=("wait_s", "sum"), service=("service_s", "sum")
    )
    # supplements: request -> the citizen's next submission, in working days
    cal = default_calendar()
    sup = inst[inst["activity"].isin(["request_supplement", "submit_supplement"])].copy()
    sup["next_activity"] = sup.groupby("case_id")["activity"].shift(-1)
    sup["next_start"] = sup.groupby("case_id")["start_timestamp"].shift(-1)
    req = sup[sup["activity"] == "request_supplement"]
    answered = req["next_start"].where(req["next_activity"] == "submit_supplement")
    end = answered.fillna(cases["last_ts"].max())
    req = req.assign(
        wait_days=cal.working_days_between_arrays(_local(req["timestamp"]), _local(end))
    )
    waits = req.groupby("case_id").agg(requests=("activity", "size"), days=("wait_days", "sum"))
    # deadlines: due day = receipt day + n working days; processing ends before the result
    deadline = {c: get_procedure(c) for c in cases["procedure_code"].unique()}
    n = cases["procedure_code"].map(
        {c: p.deadline_working_days for c, p in deadline.items() if p is not None}
    )
    received = _local(cases["first_ts"])
    due = cal.offset_days(cal.roll_forward(received.astype("datetime64[D]")), n.to_numpy("int64"))
    result = inst[inst["activity"] == "return_result"].groupby("case_id")["run"].size()
    processed = (
        inst[~inst["case_id"].isin(result.index) | (inst["activity"] != "return_result")]
        .groupby("case_id")["timestamp"]
        .max()
        .reindex(cases.index)
    )
    cases = cases.join(waits)
    spent = cal.working_days_between_arrays(received, _local(processed))
    allowed = cal.working_days_between_arrays(received, due.astype("datetime64[us]"))
    late = (spent - cases["days"].fillna(0).to_numpy() > allowed + 1) | (
        cases["requests"].fillna(0).to_numpy() > 1
    )
    cases["status"] = np.where(
        cases["finished"],
        np.where(late, "late", "on_time"),
        np.where(late, "overdue", "within"),
    )
    cases["status"].value_counts()
    # variants: share, median duration, on-time rate
    # each dossier's path, joined by plain numpy slicing (inst is sorted by dossier):
    # pandas' per-group ``agg`` copies pm4py's frame attributes for every dossier
    acts, ids = inst["activity"].to_numpy(), inst["case_id"].to_numpy()
    first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    bounds = zip(first, np.r_[first[1:], len(ids)], strict=True)
    cases["trace"] = pd.Series([",".join(acts[a:b]) for a, b in bounds], index=ids[first])
    cases["on_time"] = (cases["status"] == "on_time").astype(float)
    cases.groupby("trace").agg(
        count=("duration_s", "size"),
        median_duration_s=("duration_s", "median"),
        on_time=("on_time", "mean"),
    ).sort_values("count", ascending=False).head(20)
    return cases


def _local(series):
    """A UTC timestamp column as local naive ``datetime64[us]`` (what the calendar takes)."""
    from dvcflow.settings import get_settings

    tz = get_settings().timezone
    return series.dt.tz_convert(tz).dt.tz_localize(None).to_numpy("datetime64[us]")


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
            same = all(ours[k] == theirs[k] for k in ("cases", "edges", "variants"))
            tail = (
                f"{theirs['seconds']:8.1f} {theirs['cpu_s']:6.1f} {theirs['peak_mib']:6.0f} | "
                f"{speed:7.1f}x {cpu:5.1f}x {mem:5.2f}x | "
                f"dossiers, DFG edges, variants {'equal' if same else 'DIFFER'}"
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
    for _size, ours, theirs in rows:
        if theirs:
            print(
                f"{ours['events']:,} events: pm4py's own calls {theirs['pm4py_only_s']:.1f} s "
                f"({theirs['pm4py_only_cpu_s']:.1f} CPU s) of its {theirs['seconds']:.1f} s, "
                f"i.e. {theirs['pm4py_only_s'] / ours['seconds']:.1f}x dvcflow's time; the rest "
                "is the pandas part"
            )
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("targets: >= 5x faster than pm4py at 1M events; 10M events < 60 s and < 6144 MiB.")


if __name__ == "__main__":
    main()
