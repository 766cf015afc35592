"""What the gateway's checks cost per POST as the store grows: the scan it used to run
against the writers' index (``ingest.store_index``).

Per store size: a generated log (``dvcflow generate --cases N``) imported into a fresh
store, then requests of 50 events, one new step for each of 50 existing dossiers. The scan
is the lookup the gateway ran before the index (``ingest.owner.find_owners`` plus the
stored contents of those dossiers, each over every store file); the index lookup is what it
runs now (owners, then the identities' stored digests, catching up with new files first).
Both must give the same owners. Also: the index's first build over the whole store, its
size on disk, and its catch-up after one more sink batch of 500 events.

    .venv/bin/python benchmarks/bench_gateway_lookup.py                  # 10k and 88k dossiers
    .venv/bin/python benchmarks/bench_gateway_lookup.py --cases 2000 20000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from ingest.identity import CONTENT_COLUMNS, identities
from ingest.importers import ImportOptions, import_file
from ingest.owner import find_owners
from ingest.pseudonym import Pseudonymizer
from ingest.schema import rows_to_table
from ingest.store import EventStore
from ingest.store_facts import parquet_source
from ingest.store_index import INDEX_FILE, StoreIndex
from sample_logs.generator.api import generate

SOURCE = "key:bench"
REQUESTS = 7


def scan_lookup(store: EventStore, case_ids: list[str]) -> dict:
    """The gateway's lookup before the index: owners and stored contents by dossier."""
    owners = find_owners(store, case_ids)
    columns = ", ".join("epoch_us(timestamp)" if c == "timestamp" else c for c in CONTENT_COLUMNS)
    duckdb.connect().execute(
        f"SELECT DISTINCT event_id, {columns} FROM {parquet_source(store.files())} "
        "WHERE case_id IN (SELECT unnest($ids)) AND source = $source",
        {"ids": case_ids, "source": SOURCE},
    ).fetchall()
    return owners


def index_lookup(index: StoreIndex, case_ids: list[str], table) -> dict:
    """The gateway's lookup now (``Gateway.screen``): one catch-up, owners, stored digests."""
    index.refresh()
    owners = index.owners(case_ids, refresh=False)
    keys, _digests = identities(table)
    index.stored_digests(keys, refresh=False)
    return owners


def request(case_ids: list[str], n: int) -> object:
    """One new step for each dossier, as the gateway's stored form holds it."""
    at = datetime(2025, 9, 1, tzinfo=UTC)
    return rows_to_table(
        {
            "event_id": f"{c}-bench-{n}",
            "case_id": c,
            "procedure_code": "1.001193",
            "activity": "return_result",
            "timestamp": at + timedelta(minutes=i),
            "lifecycle": "complete",
            "org_unit": "X",
            "channel": "internal",
            "ingested_at": at,
            "source": SOURCE,
        }
        for i, c in enumerate(case_ids)
    )


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench(cases: int, tmp: Path) -> dict:
    pseudo = Pseudonymizer(b"bench-key-bench-key-bench-key-0000")
    gen = generate("all", cases, 0, tmp / f"gen-{cases}")
    store = EventStore(tmp / f"data-{cases}")
    import_file(gen.paths["parquet"], store, ImportOptions(), pseudonymizer=pseudo)
    con = store.connect()
    events = con.sql("SELECT count(*) FROM events").fetchone()[0]
    all_cases = [r[0] for r in con.sql("SELECT DISTINCT case_id FROM events ORDER BY 1").fetchall()]
    step = max(1, len(all_cases) // (REQUESTS * 50))
    asks = [all_cases[n * 50 * step :: step][:50] for n in range(REQUESTS)]

    started = time.perf_counter()
    index = StoreIndex(store)
    index.refresh()
    build = time.perf_counter() - started
    path = store.data_dir / INDEX_FILE
    size_mb = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6

    scan, indexed = [], []
    scan_lookup(store, asks[0])  # warm: both paths once before the clock
    index_lookup(index, asks[0], request(asks[0], 0))
    for n, ids in enumerate(asks):
        table = request(ids, n)
        t = time.perf_counter()
        by_scan = scan_lookup(store, ids)
        scan.append(time.perf_counter() - t)
        t = time.perf_counter()
        by_index = index_lookup(index, ids, table)
        indexed.append(time.perf_counter() - t)
        assert by_index == by_scan and len(by_index) == len(ids), "the index disagrees"

    batch = request(all_cases[:500], 999)  # one more sink batch lands
    store.write(batch, "sink-batch")
    t = time.perf_counter()
    index.refresh()
    catch_up = time.perf_counter() - t
    return {
        "events": events,
        "files": len(store.files()),
        "scan": ms(scan),
        "index": ms(indexed),
        "build": build,
        "size_mb": size_mb,
        "catch_up": catch_up * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[10_000, 88_000])
    args = parser.parse_args()
    table = Table(title="gateway owner + identity lookup, 50 dossiers per request (median)")
    for col in (
        "store events",
        "files",
        "scan ms",
        "index ms",
        "scan / index",
        "index build s",
        "index MB",
        "catch-up 500 ms",
    ):
        table.add_column(col, justify="right", no_wrap=True)
    with tempfile.TemporaryDirectory() as tmp:
        for cases in args.cases:
            r = bench(cases, Path(tmp))
            table.add_row(
                f"{r['events']:,}",
                str(r["files"]),
                f"{r['scan']:.1f}",
                f"{r['index']:.1f}",
                f"{r['scan'] / r['index']:.1f}x",
                f"{r['build']:.2f}",
                f"{r['size_mb']:.1f}",
                f"{r['catch_up']:.1f}",
            )
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
