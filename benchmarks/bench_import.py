"""``dvcflow import`` beside plain ``pm4py.read_xes`` on the same file, whole processes.

Each run is a fresh process timed from outside (interpreter and CLI start-up included):
``dvcflow import FILE`` into an empty data directory (read, map, contract check,
pseudonymise, derive ids, write Parquet) against ``python -c "import pm4py;
pm4py.read_xes(FILE)"`` (CSV: ``pandas.read_csv`` + ``pm4py.format_dataframe``). The two
alternate, ``--runs`` times each; the table shows medians and the ratio dvcflow / pm4py
(lower is better). A second table splits one in-process dvcflow import into its phases.

    flock /tmp/dvcflow-bench.lock .venv/bin/python benchmarks/bench_import.py
    flock /tmp/dvcflow-bench.lock .venv/bin/python benchmarks/bench_import.py receipt.xes.gz
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REAL_LOGS = REPO.parent / "shared" / "real_logs"
BIN = Path(sys.executable).parent
DEFAULT = [
    "Road_Traffic_Fine_Management_Process.xes.gz",
    "BPIC12.xes.gz",
    "BPIC15_1.xes.gz",
    "receipt.xes.gz",
    "receipt.csv",
]
PM4PY_XES = "import sys, pm4py; pm4py.read_xes(sys.argv[1])"
PM4PY_CSV = (
    "import sys, gzip, pandas, pm4py; p = sys.argv[1]; head = (gzip.open if p.endswith('.gz')"
    " else open)(p, 'rt').readline(); df = pandas.read_csv(p, sep=';' if head.count(';') >"
    " head.count(',') else ','); pm4py.format_dataframe(df)"
)


def _options(name: str) -> list[str]:
    sys.path.insert(0, str(REPO))
    from tests.mining.conftest import CORPUS

    args = []
    for key, value in CORPUS.get(name, {}).items():
        if key == "timezone":
            args += ["--timezone", value]
        elif key == "mapping":
            args += [a for column, field in value.items() for a in ("--map", f"{column}={field}")]
    return args


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 2):  # 2: some rows reported bad, the rest written
        raise SystemExit(f"{cmd[:3]} failed ({done.returncode}): {done.stderr[-400:]}")
    return seconds


def side_by_side(name: str, runs: int) -> dict:
    path = REAL_LOGS / name
    env = dict(os.environ, DVCFLOW_PSEUDONYM_KEY="bench-key-not-a-secret-0123456789abcdef")
    env["PYTHONWARNINGS"] = "ignore"
    pm4py_code = PM4PY_XES if ".xes" in name else PM4PY_CSV
    mine, theirs = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [str(BIN / "dvcflow"), "import", str(path), *_options(name)]
            mine.append(_wall(cmd, env | {"DVCFLOW_DATA_DIR": tmp}))
        theirs.append(_wall([sys.executable, "-c", pm4py_code, str(path)], env))
    return {"dvcflow": statistics.median(mine), "pm4py": statistics.median(theirs)}


def phases(name: str) -> dict[str, float]:
    """One in-process import split into parse, map, check + write (seconds)."""
    sys.path.insert(0, str(REPO))
    from ingest.importers import ImportOptions, import_file
    from ingest.importers import run as importer
    from ingest.pseudonym import Pseudonymizer
    from ingest.store import EventStore
    from tests.mining.conftest import CORPUS

    spent: dict[str, float] = {}
    reader = importer.READERS["xes" if ".xes" in name else "csv"]
    to_wire = importer.to_wire

    def timed(key, fn):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] = spent.get(key, 0.0) + time.perf_counter() - started

        return wrapper

    fmt = "xes" if ".xes" in name else "csv"
    options = CORPUS.get(name, {})
    importer.READERS[fmt] = timed("parse", reader)
    importer.to_wire = timed("map", to_wire)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            import_file(
                REAL_LOGS / name, EventStore(tmp), ImportOptions(**options),
                pseudonymizer=Pseudonymizer(b"bench" * 8),
            )  # fmt: skip
            total = time.perf_counter() - started
    finally:
        importer.READERS[fmt] = reader
        importer.to_wire = to_wire
    spent["check + write"] = total - spent["parse"] - spent["map"]
    spent["total"] = total
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="*", default=DEFAULT, help="names in ../shared/real_logs")
    parser.add_argument("--runs", type=int, default=3, help="runs of each side (median)")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    print("| log | events | dvcflow import s (whole process) | pm4py read s (whole process) "
          "| ratio |")  # fmt: skip
    print("|---|---|---|---|---|")
    for name in args.logs:
        r = side_by_side(name, args.runs)
        events = _events(name)
        print(f"| {name} | {events} | {r['dvcflow']:.2f} | {r['pm4py']:.2f} "
              f"| {r['dvcflow'] / r['pm4py']:.2f} |", flush=True)  # fmt: skip
    print("\nOne in-process dvcflow import, by phase (s):\n")
    print("| log | parse | map | check + write | total |")
    print("|---|---|---|---|---|")
    for name in args.logs:
        p = phases(name)
        print(f"| {name} | {p['parse']:.2f} | {p['map']:.2f} | {p['check + write']:.2f} "
              f"| {p['total']:.2f} |", flush=True)  # fmt: skip


def _events(name: str) -> str:
    sys.path.insert(0, str(REPO))
    from tests.mining.test_real_corpus import sources_counts

    counts = sources_counts().get(name)
    return f"{counts[1]:,}" if counts else "–"


if __name__ == "__main__":
    main()
