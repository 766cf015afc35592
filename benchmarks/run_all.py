"""Run every ``benchmarks/bench_*.py`` one after another (``make bench``), quick where it can.

Each benchmark prints its own table; this prints at the end which ran, their exit codes and
times, and exits 1 if one failed. Quick modes: the flags in ``QUICK``; the others run with
their defaults. ``--full`` drops the quick flags; names select benchmarks
(``run_all.py mining ingest``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK = {  # benchmark -> the arguments of its quick mode
    "bench_dashboard.py": ["--quick", "--rounds", "2"],
    "bench_mining.py": ["--quick"],
    "bench_generator.py": ["--events", "200000"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only these (e.g. mining ingest)")
    parser.add_argument("--full", action="store_true", help="each benchmark's full size")
    args = parser.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.names]
    results = []
    for script in scripts:
        extra = [] if args.full else QUICK.get(script.name, [])
        print(f"\n=== {script.name} {' '.join(extra)}".rstrip(), flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script), *extra], cwd=HERE.parent)
        results.append((script.name, code, time.monotonic() - started))
    print("\nbenchmark               exit   seconds")
    for name, code, seconds in results:
        print(f"{name:22s} {code:5d} {seconds:9.1f}")
    return 1 if any(code for _, code, _ in results) or not results else 0


if __name__ == "__main__":
    sys.exit(main())
