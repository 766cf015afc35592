"""How fast ``dvcflow import`` loads real logs, and what the vectorised contract check buys.

For each log: the whole import (read, map, check, pseudonymise, write) through
``import_file``, and the same rows checked by the two contract paths on the same wire rows:
``check_frame`` (Arrow/pandas, whole columns) and ``validate_event`` (pydantic, one row at a
time), with the ratio measured in this run. Both paths must accept the same number of rows.

    .venv/bin/python benchmarks/bench_import.py                 # default logs
    .venv/bin/python benchmarks/bench_import.py receipt.xes.gz  # names in ../shared/real_logs
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ingest.importers import ImportOptions, import_file
from ingest.importers.contract import check_frame
from ingest.importers.run import load
from ingest.pseudonym import Pseudonymizer
from ingest.schema import EventError, validate_event
from ingest.store import EventStore

REAL_LOGS = Path(__file__).resolve().parents[2] / "shared" / "real_logs"
DEFAULT = [
    "receipt.csv",
    "BPIC15_1.xes.gz",
    "sepsis.csv",
    "BPIC15_1_minimal.csv.gz",
    "Road_Traffic_Fine_Management_Process.xes.gz",
]


def bench(path: Path, pseudo: Pseudonymizer) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        report = import_file(path, EventStore(tmp), ImportOptions(), pseudonymizer=pseudo)
        total = time.perf_counter() - started

    _fmt, _src, wire = load(path, ImportOptions())
    frame = wire.frame.drop(index=list(wire.bad))
    started = time.perf_counter()
    table, errors = check_frame(frame, pseudo, clean_attributes=wire.clean_attributes)
    fast = time.perf_counter() - started

    records = frame.to_dict("records")
    rows = [{k: v for k, v in r.items() if v is not None} for r in records]
    for r in rows:
        r["timestamp"] = r["timestamp"].to_pydatetime()
    accepted = 0
    started = time.perf_counter()
    for r in rows:
        try:
            validate_event(r, pseudo)
            accepted += 1
        except EventError:
            pass
    slow = time.perf_counter() - started
    assert accepted == table.num_rows, (path.name, accepted, table.num_rows)
    return {
        "log": path.name,
        "events": report.rows_read,
        "written": report.written,
        "import_s": total,
        "rate": report.rows_read / total,
        "fast_s": fast,
        "slow_s": slow,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="*", default=DEFAULT)
    args = parser.parse_args()
    pseudo = Pseudonymizer(b"benchmark-key")
    console = Console(width=150)
    table = Table(title="dvcflow import on real logs (one run, this machine)")
    for col in ("log", "events", "written", "import (s)", "events/s",
                "check: columns (s)", "check: pydantic rows (s)", "ratio"):  # fmt: skip
        table.add_column(col, justify="left" if col == "log" else "right")
    for name in args.logs:
        path = REAL_LOGS / name
        if not path.exists():
            console.print(f"[yellow]skip {name}: not in {REAL_LOGS}")
            continue
        r = bench(path, pseudo)
        table.add_row(
            r["log"], f"{r['events']:,}", f"{r['written']:,}", f"{r['import_s']:.1f}",
            f"{r['rate']:,.0f}", f"{r['fast_s']:.2f}", f"{r['slow_s']:.2f}",
            f"{r['slow_s'] / r['fast_s']:.1f}x",
        )  # fmt: skip
        console.print(f"done {name}")
    console.print(table)


if __name__ == "__main__":
    main()
