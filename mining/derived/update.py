"""``derive``: bring the derived layer up to the store, recomputing only what changed.

The store files the manifest does not know (new ones, or ones rewritten since: a
redelivered batch, a compaction's merged file) name the dossiers they touch; those
dossiers' rows are recomputed from all of their events in the live files (so a late or
out-of-order event, or a compaction, gives exactly the rows a rebuild gives) and written
as one new segment; the manifest then moves once. One derive at a time (a lock file);
a derive killed at any point leaves the previous manifest, and the next one redoes the
work. Segments pile up one per derive; when those after the first hold as many dossier
rows as the first, all are merged into one (a compaction's full recompute thus replaces
the layer instead of doubling it), and past ``MAX_SEGMENTS`` those after the first are
merged into one (cost: the rows changed since the first segment was written).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from dvcflow.errors import DvcflowError
from ingest.store import GRACE_SECONDS, EventStore, write_parquet_atomic
from ingest.store_facts import parquet_source
from mining.derived.layer import DerivedLayer, Manifest, definition_key
from mining.derived.tables import CASES_SCHEMA, STEPS_SCHEMA, derive_rows, in_list
from mining.log import connect

MAX_SEGMENTS = 16


@dataclass(frozen=True)
class DeriveReport:
    """What one ``derive`` did."""

    version: int  # the layer's version after it
    rebuilt: bool
    new_files: int  # store files not derived before
    dossiers: int  # dossiers recomputed
    step_rows: int
    segments: int  # segments in the layer after it
    seconds: float


def _signature(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _rel(store: EventStore, path: Path) -> str:
    return str(path.relative_to(store.root))


@contextmanager
def _locked(layer: DerivedLayer) -> Iterator[None]:
    layer.root.mkdir(parents=True, exist_ok=True)
    with open(layer.root / ".lock", "wb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # released by the kernel if this process dies
        yield


def is_fresh(store: EventStore, manifest: Manifest | None = None) -> bool:
    """Whether the layer (as of ``manifest``, default: the committed one) was derived from
    exactly the store's live files."""
    m = manifest or DerivedLayer(store.data_dir).manifest()
    if m is None or m.definition != definition_key():
        return False
    live = {_rel(store, f): _signature(f) for f in store.files()}
    return live == m.store_files


def derive(store: EventStore, rebuild: bool = False) -> DeriveReport:
    """Update (or with ``rebuild``, recompute from raw events) the layer of ``store``.

    Raises ``DvcflowError`` when the layer was derived under other definitions or calendar
    settings, since mixing them would give rows no rebuild gives."""
    began = time.perf_counter()
    layer = DerivedLayer(store.data_dir)
    with _locked(layer):
        old = layer.manifest()
        if old is not None and old.definition != definition_key() and not rebuild:
            raise DvcflowError(
                f"the derived layer at {layer.root} was made by another version of dvcflow or "
                "other calendar settings (timezone, extra_holidays, extra_workdays): run "
                "`dvcflow derive --rebuild`."
            )
        rebuild = rebuild or old is None
        files = store.files()
        sigs = {_rel(store, f): _signature(f) for f in files}
        known = {} if rebuild else old.store_files
        new = [f for f in files if known.get(_rel(store, f)) != sigs[_rel(store, f)]]
        if not rebuild and not new and sigs == old.store_files:
            return DeriveReport(old.version, False, 0, 0, 0, len(old.segments), 0.0)
        con = connect()
        try:
            ids = None if rebuild else _touched(con, new)
            read = files if rebuild else _partitions(layer, old, store, files, new, ids, con)
            cases, steps = derive_rows(con, read, ids)
            segments = [] if rebuild else list(old.segments)
            if rebuild or cases.num_rows:
                segments.append(_next_generation(layer, old))
                _write_segment(layer, segments[-1], cases, steps)
            if len(segments) > 1 and _rows(layer, segments[1:]) >= _rows(layer, segments[:1]):
                segments = [_merge(layer, segments, con)]  # the changes outweigh the base
            elif len(segments) > MAX_SEGMENTS:
                segments = [segments[0], _merge(layer, segments[1:], con)]
        finally:
            con.close()
        dropped = [g for g in (old.segments if old else ()) if g not in segments]
        manifest = Manifest(
            version=(old.version if old else 0) + 1,
            definition=definition_key(),
            segments=tuple(segments),
            store_files=sigs,
            retired=_retire(layer, old, dropped),
        )
        layer.commit(manifest)
        _sweep(layer, manifest)
    return DeriveReport(
        version=manifest.version,
        rebuilt=rebuild,
        new_files=len(new),
        dossiers=cases.num_rows,
        step_rows=steps.num_rows,
        segments=len(manifest.segments),
        seconds=time.perf_counter() - began,
    )


def _touched(con: duckdb.DuckDBPyConnection, files: list[Path]) -> list[str]:
    """The dossiers with an event in ``files`` (their ``case_id`` column only)."""
    if not files:
        return []
    rows = con.execute(f"SELECT DISTINCT case_id FROM {parquet_source(files)}").fetchall()
    return [r[0] for r in rows if r[0] is not None]


def _partitions(
    layer: DerivedLayer,
    old: Manifest,
    store: EventStore,
    files: list[Path],
    new: list[Path],
    ids: list[str],
    con: duckdb.DuckDBPyConnection,
) -> list[Path]:
    """The live files that can hold events of the dossiers ``ids``: those of the new files'
    partitions and, for a dossier already derived, of its procedure's months from its first
    to its last event (a store partition is procedure × UTC month of the event). A derived
    dossier whose events name several procedures makes it every file."""
    if not ids:
        return []
    known = con.execute(
        f"""SELECT procedure_code, max(procedures) AS procedures,
                   strftime(timezone('UTC', first_ts), '%Y-%m') AS a,
                   strftime(timezone('UTC', last_ts), '%Y-%m') AS b
            FROM ({layer.cases_sql(old)}) WHERE case_id IN ({in_list(ids)}) GROUP BY ALL"""
    ).fetchall()
    if any(n > 1 for _, n, _, _ in known):
        return files
    wanted = {f.parent for f in new}
    for procedure, _, a, b in known:
        month = date.fromisoformat(f"{a}-01")
        while f"{month:%Y-%m}" <= b:
            wanted.add(store.partition_dir(procedure, f"{month:%Y-%m}"))
            month = (month + timedelta(days=32)).replace(day=1)
    return [f for f in files if f.parent in wanted]


def _next_generation(layer: DerivedLayer, old: Manifest | None) -> int:
    """One past every generation ever used, so a file of a killed derive is never taken
    for a new segment."""
    return max([*(old.segments if old else ()), *_generations(layer)], default=0) + 1


def _generations(layer: DerivedLayer) -> list[int]:
    out = []
    for p in layer.root.glob("*-*.parquet"):
        try:
            out.append(int(p.stem.rsplit("-", 1)[1]))
        except ValueError:
            continue
    return out


def _write_segment(layer: DerivedLayer, gen: int, cases: pa.Table, steps: pa.Table) -> None:
    """Both files of a segment, each whole or absent (the manifest names them only after)."""
    for name, table in (("steps", steps), ("cases", cases)):
        column = pa.array([gen] * table.num_rows, type=pa.int64())
        write_parquet_atomic(table.append_column("gen", column), layer.segment_path(name, gen))


def _rows(layer: DerivedLayer, gens: list[int]) -> int:
    """Dossier rows in these segments (Parquet footers only)."""
    return sum(pq.ParquetFile(layer.segment_path("cases", g)).metadata.num_rows for g in gens)


def _merge(layer: DerivedLayer, gens: list[int], con: duckdb.DuckDBPyConnection) -> int:
    """One segment with the newest rows of each dossier in ``gens``; its generation."""
    view = Manifest(version=0, definition="", segments=tuple(gens))
    cases = con.execute(f"{layer.cases_sql(view)} ORDER BY case_id").to_arrow_table()
    steps = con.execute(f"{layer.steps_sql(view)} ORDER BY case_id, seq").to_arrow_table()
    gen = max(gens) + 1
    _write_segment(layer, gen, cases.cast(CASES_SCHEMA), steps.cast(STEPS_SCHEMA))
    return gen


def _retire(layer: DerivedLayer, old: Manifest | None, dropped: list[int]) -> dict[str, float]:
    """Segments no longer in the layer stay readable ``GRACE_SECONDS`` for readers that
    listed them, as the store's merged-away files do."""
    retired = {n: t for n, t in (old.retired if old else {}).items() if (layer.root / n).exists()}
    now = time.time()
    for gen in dropped:
        for table in ("cases", "steps"):
            retired[layer.segment_path(table, gen).name] = now
    return retired


def _sweep(layer: DerivedLayer, m: Manifest) -> None:
    """Delete retired segments past their grace and files of killed derives (under the
    lock, so no derive is writing them; no manifest names them, so no reader reads them)."""
    live = {layer.segment_path(t, g).name for g in m.segments for t in ("cases", "steps")}
    now = time.time()
    for p in layer.root.iterdir():
        if p.name in live or p.name in (".lock", "manifest.json"):
            continue
        when = m.retired.get(p.name)
        if when is None or now - when >= GRACE_SECONDS:
            p.unlink(missing_ok=True)
