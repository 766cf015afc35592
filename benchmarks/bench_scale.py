"""How the derived layer scales: generate + import, ``derive --rebuild``, and incremental
derives of small batches, with each step's peak memory, per store size.

For each size (``--events 1e6[,1e7]``): the generated log (reused from ``--work`` when there),
stored in sink-sized batch files; then, each in its own process (so max RSS is its own):
``dvcflow derive --rebuild``; an incremental ``derive`` after a batch of 1,000 events and
one of 10,000 (late steps of existing dossiers: the batch's own ids, one hour after a
stored event, so each dossier's rows must be recomputed from all of its events); then
``dvcflow compact``, the derive after it (every dossier of a merged partition is
recomputed) and a 1,000-event derive on the compacted store; and the procedure list read
from the raw events against the same list read from the layer.
"Cost proportional to the batch" shows as the 10k / 1k ratio of the incremental derive
and as the 1k figure not growing with the store.

    flock /tmp/dvcflow-bench.lock .venv/bin/python benchmarks/bench_scale.py --events 1e6
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.table import Table

from mining.derived import DerivedLayer

EVENTS_PER_CASE = 11.4  # what the catalog's procedures produce (bench_generator)
BATCH_ROWS = 50_000  # rows per stored file, about a sink batch at load


def _child(step: str, data_dir: str) -> None:
    """One measured step in this process (imports before the clock); prints JSON."""
    from ingest.store import EventStore
    from mining.derived import derive
    from mining.derived.read import procedure_summary

    store = EventStore(data_dir)
    began = time.perf_counter()
    out: dict = {}
    if step in ("rebuild", "derive"):
        report = derive(store, rebuild=step == "rebuild")
        out = {"dossiers": report.dossiers, "segments": report.segments}
    elif step.startswith("populate:"):
        out = _populate(int(step.split(":")[1]), Path(data_dir))
    elif step.startswith("late:"):
        _late_batch(Path(data_dir), *map(int, step.split(":")[1:]))
    elif step == "compact":
        out = {"files": store.compact(grace_seconds=0).files_after}
    elif step == "list_raw":
        out = {"rows": len(store.summary())}
    elif step == "list_layer":
        rows = procedure_summary(store)
        assert rows is not None, "the layer is not fresh"
        out = {"rows": len(rows)}
    out["seconds"] = time.perf_counter() - began
    # this process's own high-water mark: ``ru_maxrss`` would keep the parent's across exec
    status = Path("/proc/self/status").read_text()
    out["peak_mib"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
    print(json.dumps(out))


def _run(step: str, data_dir: Path) -> dict:
    """``_child(step)`` in a fresh process: its wall time inside, and its peak memory."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", step, "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    stdout = proc.stdout.read()
    if proc.wait() != 0:
        raise SystemExit(f"step {step} failed (status {proc.returncode})")
    return json.loads(stdout.strip().splitlines()[-1])


def _populate(events: int, data_dir: Path) -> dict:
    """Generate about ``events`` events and store them in batch files; the timings."""
    from ingest.schema import conform_table
    from ingest.store import EventStore
    from sample_logs.generator import generate

    began = time.perf_counter()
    table = generate("all", max(1, int(events / EVENTS_PER_CASE)), 0, None).table
    generated = time.perf_counter() - began
    store = EventStore(data_dir)
    began = time.perf_counter()
    for i in range(0, table.num_rows, BATCH_ROWS):
        store.write(conform_table(table.slice(i, BATCH_ROWS)), f"batch-{i // BATCH_ROWS:06d}")
    return {"events": table.num_rows, "generate_s": generated,
            "write_s": time.perf_counter() - began}  # fmt: skip


def _late_batch(data_dir: Path, rows: int, seed: int) -> None:
    """``rows`` new events: copies of stored ones an hour later, under their own ids."""
    import duckdb

    from ingest.schema import STORE_SCHEMA, conform_table
    from ingest.store import EventStore

    store = EventStore(data_dir)
    con = duckdb.connect()
    con.register("_dvc_empty_events", STORE_SCHEMA.empty_table())
    sample = con.execute(
        f"SELECT * FROM ({store.scan_sql()}) USING SAMPLE {rows} ROWS (reservoir, {seed})"
    ).to_arrow_table()
    late = sample.set_column(
        sample.schema.get_field_index("event_id"),
        "event_id",
        pc.binary_join_element_wise(sample["event_id"], pa.scalar(f"-late{seed}"), ""),
    )
    ts = late["timestamp"].to_numpy(zero_copy_only=False) + np.timedelta64(1, "h")
    late = late.set_column(
        late.schema.get_field_index("timestamp"), "timestamp",
        pa.array(ts, type=late.schema.field("timestamp").type),
    )  # fmt: skip
    store.write(conform_table(late), f"late-{seed}")


def measure(events: int, work: Path) -> dict:
    data_dir = work / f"scale-{events}"
    shutil.rmtree(data_dir, ignore_errors=True)
    row: dict = {"target": events} | _run(f"populate:{events}", data_dir)
    row["populate_mib"] = row.pop("peak_mib")
    rebuild = _run("rebuild", data_dir)
    row |= {"rebuild_s": rebuild["seconds"], "rebuild_mib": rebuild["peak_mib"],
            "dossiers": rebuild["dossiers"]}  # fmt: skip
    for n, seed in ((1_000, 1), (10_000, 2)):
        _run(f"late:{n}:{seed}", data_dir)
        inc = _run("derive", data_dir)
        row |= {f"inc{n}_s": inc["seconds"], f"inc{n}_mib": inc["peak_mib"],
                f"inc{n}_dossiers": inc["dossiers"]}  # fmt: skip
    compact = _run("compact", data_dir)
    after = _run("derive", data_dir)
    _run("late:1000:3", data_dir)
    inc = _run("derive", data_dir)
    row |= {"compact_s": compact["seconds"], "after_compact_s": after["seconds"],
            "after_compact_dossiers": after["dossiers"], "inc1000c_s": inc["seconds"],
            "inc1000c_mib": inc["peak_mib"]}  # fmt: skip
    raw, layer = _run("list_raw", data_dir), _run("list_layer", data_dir)
    row |= {"list_raw_s": raw["seconds"], "list_layer_s": layer["seconds"]}
    row["store_mib"] = (
        sum(p.stat().st_size for p in (data_dir / "events").rglob("*.parquet")) / 2**20
    )
    layer = DerivedLayer(data_dir)  # the committed segments, not those retired in grace
    named = [
        layer.segment_path(t, g) for g in layer.manifest().segments for t in ("cases", "steps")
    ]
    row["layer_mib"] = sum(p.stat().st_size for p in named) / 2**20
    row["segments"] = len(layer.manifest().segments)
    shutil.rmtree(data_dir, ignore_errors=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="1e6", help="comma-separated sizes, e.g. 1e6,1e7")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dvcflow-bench-scale"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.data_dir)
        return
    rows = [measure(int(float(e)), args.work) for e in args.events.split(",")]
    table = Table(title="derived layer at scale (seconds; peak MiB of each step's process)")
    for col in ("events", "dossiers", "generate s", "write s", "rebuild s / MiB",
                "+1k events s / MiB (dossiers)", "+10k events s / MiB (dossiers)", "10k/1k",
                "compact s, then derive s (dossiers)", "+1k after compact s / MiB",
                "procedure list raw s / layer s", "store / layer MiB"):  # fmt: skip
        table.add_column(col)
    for r in rows:
        table.add_row(
            f"{r['events']:,}", f"{r['dossiers']:,}", f"{r['generate_s']:.1f}",
            f"{r['write_s']:.1f}", f"{r['rebuild_s']:.1f} / {r['rebuild_mib']:.0f}",
            f"{r['inc1000_s']:.2f} / {r['inc1000_mib']:.0f} ({r['inc1000_dossiers']:,})",
            f"{r['inc10000_s']:.2f} / {r['inc10000_mib']:.0f} ({r['inc10000_dossiers']:,})",
            f"{r['inc10000_s'] / r['inc1000_s']:.1f}",
            f"{r['compact_s']:.1f}, {r['after_compact_s']:.1f} ({r['after_compact_dossiers']:,})",
            f"{r['inc1000c_s']:.2f} / {r['inc1000c_mib']:.0f}",
            f"{r['list_raw_s']:.2f} / {r['list_layer_s']:.2f}",
            f"{r['store_mib']:.0f} / {r['layer_mib']:.0f}",
        )  # fmt: skip
    Console(width=220).print(table)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
