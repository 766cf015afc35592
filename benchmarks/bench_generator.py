"""Generator speed: events/s and peak memory for ~100k and ~1M events, against the target.

Target (issue 2): 1,000,000 events in under 60 s on the project machine. Each size runs in
its own process so peak memory (max RSS) is that run's own. Files are written to a temp dir
(Parquet + CSV + ground truth), so the time is the whole ``dvcflow generate`` job.

    .venv/bin/python benchmarks/bench_generator.py [--events 1000000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

EVENTS_PER_CASE = 11.4  # about what the catalog's procedures produce; measured, not assumed
TARGET_SECONDS_PER_MILLION = 60.0


def _one(cases: int, seed: int) -> dict:
    from sample_logs.generator import generate

    with tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        result = generate("all", cases, seed, Path(out))
        seconds = time.perf_counter() - began
        size = sum(p.stat().st_size for p in result.paths.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    return {
        "cases": cases,
        "events": result.events,
        "seconds": seconds,
        "peak_mib": peak,
        "bytes": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_one(args.child, args.seed)))
        return

    rows = []
    for events in (args.events // 10, args.events):
        cases = max(1, int(events / EVENTS_PER_CASE))
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(cases), "--seed", str(args.seed)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    table = Table(title="dvcflow generate: synthetic log generation (one run each)")
    for col in (
        "dossiers",
        "events",
        "seconds",
        "events/s",
        "peak MiB",
        "output MB",
        "target s",
        "target / measured",
    ):
        table.add_column(col, justify="right")
    for r in rows:
        target = TARGET_SECONDS_PER_MILLION * r["events"] / 1_000_000
        table.add_row(
            f"{r['cases']:,}",
            f"{r['events']:,}",
            f"{r['seconds']:.2f}",
            f"{r['events'] / r['seconds']:,.0f}",
            f"{r['peak_mib']:,.0f}",
            f"{r['bytes'] / 1e6:.1f}",
            f"{target:.1f}",
            f"{target / r['seconds']:.1f}x",
        )
    small, big = rows
    Console(width=130).print(table)
    scale = (big["seconds"] / small["seconds"]) / (big["events"] / small["events"])
    print(
        f"scaling: 10x events cost {big['seconds'] / small['seconds']:.1f}x the time "
        f"(ratio to linear {scale:.2f})"
    )


if __name__ == "__main__":
    main()
