"""The event store: a Parquet dataset partitioned by procedure and month.

Writers call ``EventStore.write(table, name)``: one file per partition, all written to temp
names, fsynced and only then renamed, so a reader never sees half a file and a batch written again
under the same name (a redelivery after a crash) replaces itself instead of doubling.
Readers go through DuckDB (``EventStore.connect``/``scan_sql``); duplicate ``event_id``s
are dropped there, so producers' retries never reach an analysis.

Trace-level attributes of imported logs live once per dossier in ``case_attributes/``
(``CASE_ATTRIBUTES_SCHEMA``), beside the events, not copied onto each event.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.schema import CASE_ATTRIBUTES_SCHEMA, STORE_COLUMNS, STORE_SCHEMA, conform_table
from ingest.store_facts import StoreFacts, parquet_source, store_facts

_SAFE = re.compile(r"[^0-9A-Za-z._\-]")
TOMBSTONES = "_compacted.json"
_STAGE_THREADS = 8  # files staged / folders fsynced at once by ``EventStore.write``
GRACE_SECONDS = 600.0  # merged-away files stay readable this long for readers already running
_COLUMNS_SQL = ", ".join(STORE_COLUMNS)
# An event's identity is its id within its source (the key or producer that wrote it): one
# writer can neither claim nor hide another's event by reusing its id.
DEDUP_SQL = "QUALIFY row_number() OVER (PARTITION BY source, event_id ORDER BY ingested_at) = 1"
# Instants every reader can turn into a date (Python's years 1..9999, with room for any
# offset): a row outside, stored before the contract bounded timestamps, is left unread
# instead of breaking every figure (the contract now refuses it: ``timestamp_window``).
READABLE_SQL = (
    "timestamp BETWEEN TIMESTAMPTZ '0002-01-01 00:00:00+00' "
    "AND TIMESTAMPTZ '9998-12-31 00:00:00+00'"
)


def _safe(value: str) -> str:
    return _SAFE.sub("_", value)[:100] or "_"


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable (the store and the derived layer)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` so that the file appears whole or not at all."""
    _publish(_stage(table, path))


def _stage(table: pa.Table, path: Path) -> tuple[Path, Path]:
    """Write ``table`` beside ``path`` under a temp name (readers skip it); fsynced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd", row_group_size=256_000)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, path


def _stage_all(jobs: list[tuple[pa.Table, Path]], staged: list[tuple[Path, Path]]) -> None:
    """``_stage`` every (table, path), a few at a time: Parquet's encoder and ``fsync``
    release the GIL, and concurrent fsyncs share the file system's journal commits (163
    month files one after the other took 1 s). Each staged pair is appended to ``staged``
    as it is done, so the caller can remove them all when one fails."""
    if len(jobs) < 2:
        staged.extend(_stage(table, path) for table, path in jobs)
        return
    for _, path in jobs:  # folders first, in this thread: no two threads race on a parent
        path.parent.mkdir(parents=True, exist_ok=True)
    pool = ThreadPoolExecutor(max_workers=_STAGE_THREADS)
    futures = []
    try:
        futures = [pool.submit(_stage, table, path) for table, path in jobs]
        wait(futures)
    finally:  # on an interrupt too: every thread ends, and what it staged is listed
        pool.shutdown(wait=True, cancel_futures=True)
        done = [f for f in futures if f.done() and not f.cancelled()]
        staged.extend(f.result() for f in done if f.exception() is None)
    failed = next((f.exception() for f in done if f.exception() is not None), None)
    if failed is not None:
        raise failed


def _publish(*staged: tuple[Path, Path]) -> None:
    """Rename every staged file into place, then make the renames durable: each file's
    folder is fsynced, and so is the folder above any folder this batch created."""
    for tmp, path in staged:
        os.replace(tmp, path)
    parents = {path.parent for _, path in staged}
    parents |= {p.parent for p in parents}  # a new month folder's entry in its procedure
    if len(parents) < 2:
        for parent in parents:
            fsync_dir(parent)
        return
    with ThreadPoolExecutor(max_workers=_STAGE_THREADS) as pool:
        list(pool.map(fsync_dir, parents))


@dataclass(frozen=True)
class CompactStats:
    partitions: int
    files_before: int
    files_after: int
    rows_before: int
    rows_after: int


class EventStore:
    """The Parquet dataset under ``<data_dir>/events``."""

    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "events"
        self.case_root = self.data_dir / "case_attributes"

    # --- writing -------------------------------------------------------------------------
    def write(
        self, table: pa.Table, name: str, case_attributes: pa.Table | None = None
    ) -> list[Path]:
        """Write validated rows (``STORE_SCHEMA``) as ``name`` in each partition they touch,
        and ``case_attributes`` (``CASE_ATTRIBUTES_SCHEMA``: one row per dossier) beside them.

        All or nothing: every file is staged under a temp name first and only then renamed
        into place, so a failure (disk full, a bad value) leaves no part of the batch."""
        table = conform_table(table)
        if table.num_rows == 0:
            return []
        # year * 100 + month as an integer: ~10x cheaper than formatting every timestamp
        ts = table["timestamp"]
        month = pc.add(pc.multiply(pc.year(ts), 100), pc.month(ts))
        keys = pa.table({"p": table["procedure_code"], "m": month})
        # one stable sort by partition, then each partition is a slice (its rows in their
        # order in the batch, as a filter would give): not one full-table mask per partition
        order = pc.sort_indices(keys, sort_keys=[("p", "ascending"), ("m", "ascending")])
        table, keys = table.take(order), keys.take(order)
        staged: list[tuple[Path, Path]] = []
        try:
            start = 0
            jobs: list[tuple[pa.Table, Path]] = []
            groups = keys.group_by(["p", "m"]).aggregate([([], "count_all")])
            for group in groups.sort_by([("p", "ascending"), ("m", "ascending")]).to_pylist():
                year, mon = divmod(group["m"], 100)
                folder = self.partition_dir(group["p"], f"{year:04d}-{mon:02d}")
                rows = table.slice(start, group["count_all"])
                jobs.append((rows, folder / f"{_safe(name)}.parquet"))
                start += group["count_all"]
            if case_attributes is not None and case_attributes.num_rows:
                cases = case_attributes.cast(CASE_ATTRIBUTES_SCHEMA)
                for code in pc.unique(cases["procedure_code"]).to_pylist():
                    part = cases.filter(pc.equal(cases["procedure_code"], code))
                    path = self.case_root / f"procedure={_safe(code)}" / f"{_safe(name)}.parquet"
                    jobs.append((part, path))
            _stage_all(jobs, staged)
        except BaseException:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            raise
        _publish(*staged)
        return [path for _, path in staged if path.is_relative_to(self.root)]

    def case_attribute_files(self, procedures: Sequence[str] | None = None) -> list[Path]:
        """The files of the case-attribute table (of ``procedures`` when given)."""
        if not self.case_root.exists():
            return []
        wanted = None if procedures is None else {f"procedure={_safe(p)}" for p in procedures}
        return [
            p
            for p in sorted(self.case_root.glob("procedure=*/*.parquet"))
            if not p.name.startswith(".") and (wanted is None or p.parent.name in wanted)
        ]

    def case_attributes_sql(self, procedures: Sequence[str] | None = None) -> str:
        """A SELECT of (procedure_code, case_id, attributes): the trace-level attributes of
        imported logs, one row per dossier (the latest import of a dossier wins)."""
        files = self.case_attribute_files(procedures)
        if not files:
            return "SELECT * FROM _dvc_empty_case_attributes"
        return (
            f"SELECT procedure_code, case_id, attributes FROM {parquet_source(files)} "
            "QUALIFY row_number() OVER "
            "(PARTITION BY procedure_code, case_id ORDER BY ingested_at DESC) = 1"
        )

    def partition_dir(self, procedure_code: str, month: str) -> Path:
        return self.root / f"procedure={_safe(procedure_code)}" / f"month={month}"

    # --- listing -------------------------------------------------------------------------
    def files(self) -> list[Path]:
        """The live data files: no temp files, no files already merged by ``compact``."""
        if not self.root.exists():
            return []
        out = []
        for part in sorted(self.root.glob("procedure=*/month=*")):
            dead = _read_tombstones(part)
            for p in sorted(part.glob("*.parquet")):
                if p.name.startswith("."):
                    continue
                if p.name in dead and _signature(p) == dead[p.name]["sig"]:
                    continue
                out.append(p)
        return out

    def version(self) -> str:
        """Changes whenever a file is added, replaced or removed; caches key on it."""
        return self._version_of(self.files())

    def _version_of(self, files: Sequence[Path]) -> str:
        h = hashlib.sha1()
        for path in files:
            st = path.stat()
            h.update(f"{path.relative_to(self.root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        return h.hexdigest()[:16]

    def is_empty(self) -> bool:
        return not self.files()

    # --- reading -------------------------------------------------------------------------
    def live_files(self, procedures: Sequence[str] | None = None) -> list[Path]:
        """``files``, only those of ``procedures`` when given (pruned by directory)."""
        files = self.files()
        if procedures is None:
            return files
        wanted = {f"procedure={_safe(p)}" for p in procedures}
        return [f for f in files if f.parent.parent.name in wanted]

    def facts(
        self,
        procedures: Sequence[str] | None = None,
        con: duckdb.DuckDBPyConnection | None = None,
        files: Sequence[Path] | None = None,
    ) -> StoreFacts:
        """Whether the files (of ``procedures``) repeat an ``event_id``, tie a dossier's
        events or carry a ``due_date`` attribute; counted once per store version
        (``ingest.store_facts``). A reader passes the ``files`` it will read, so the answer
        is about exactly those (a compaction may swap files in between two listings)."""
        files = self.live_files(procedures) if files is None else files
        if not files:
            return StoreFacts(repeated_ids=False, same_time=False, due_dates=False)
        # keyed by these very files: a file written meanwhile makes another key
        return store_facts(self.root, self._version_of(files), files, procedures, con)

    def scan_sql(self, where: str | None = None, procedures: Sequence[str] | None = None) -> str:
        """A SELECT over the store with duplicate ``event_id``s dropped.

        ``where`` (SQL over the store columns, may use ``$name`` parameters) is applied
        before the dedup so DuckDB reads only what it needs; ``procedures`` also prunes
        whole partitions by directory. The dedup window (a sort of every column) is left
        out when the files hold no ``event_id`` twice (``facts``).
        """
        files = self.live_files(procedures)
        if not files:
            return f"SELECT {_COLUMNS_SQL} FROM _dvc_empty_events"
        conditions = f"WHERE {READABLE_SQL}" + (f" AND ({where})" if where else "")
        dedup = DEDUP_SQL if self.facts(procedures, files=files).repeated_ids else ""
        return f"SELECT {_COLUMNS_SQL} FROM {parquet_source(files)} {conditions} {dedup}"

    def connect(self, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with a view ``events`` (deduplicated) over the store and a view
        ``case_attributes`` (join it on ``procedure_code, case_id``)."""
        con = con or duckdb.connect()
        con.register("_dvc_empty_events", STORE_SCHEMA.empty_table())
        con.register("_dvc_empty_case_attributes", CASE_ATTRIBUTES_SCHEMA.empty_table())
        con.execute(f"CREATE OR REPLACE TEMP VIEW events AS {self.scan_sql()}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW case_attributes AS {self.case_attributes_sql()}")
        return con

    def read_table(self, where: str | None = None, params: dict | None = None) -> pa.Table:
        """The deduplicated events (optionally filtered) as an Arrow table."""
        con = duckdb.connect()
        con.register("_dvc_empty_events", STORE_SCHEMA.empty_table())
        return con.sql(self.scan_sql(where), params=params or None).to_arrow_table()

    def summary(self) -> list[dict]:
        """Per procedure: events, cases, first and last timestamp."""
        con = self.connect()
        return (
            con.sql(
                "SELECT procedure_code, count(*) AS events, count(DISTINCT case_id) AS cases, "
                "min(timestamp) AS first, max(timestamp) AS last FROM events "
                "GROUP BY procedure_code ORDER BY procedure_code"
            )
            .to_arrow_table()
            .to_pylist()
        )

    # --- compaction ----------------------------------------------------------------------
    def compact(
        self,
        min_files: int = 2,
        partitions: Iterable[Path] | None = None,
        grace_seconds: float = GRACE_SECONDS,
    ) -> CompactStats:
        """Merge each partition's files into one: same rows, duplicates dropped.

        The merged file appears (atomically) first; the old files are then tombstoned, so
        new readers skip them, and deleted only ``grace_seconds`` later, so a reader that
        listed them before the swap can still finish. Either way the dedup on read makes
        seeing both harmless.
        """
        dirs = sorted(set(partitions) if partitions else {f.parent for f in self.files()})
        stats = dict(partitions=0, files_before=0, files_after=0, rows_before=0, rows_after=0)
        con = duckdb.connect()
        for part in dirs:
            _purge_tombstones(part, grace_seconds)
            files = [f for f in self.files() if f.parent == part]
            if len(files) < min_files:
                continue
            file_list = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            rows_before = con.execute(
                f"SELECT count(*) FROM read_parquet([{file_list}])"
            ).fetchone()[0]
            merged = con.sql(
                f"SELECT {_COLUMNS_SQL} FROM {parquet_source(files)} "
                f"{DEDUP_SQL} ORDER BY case_id, timestamp, source_order"
            ).to_arrow_table()
            digest = hashlib.sha1("|".join(f.name for f in files).encode()).hexdigest()[:12]
            target = part / f"compact-{digest}.parquet"
            write_parquet_atomic(conform_table(merged), target)
            _add_tombstones(part, [f for f in files if f != target])
            _purge_tombstones(part, grace_seconds)
            stats["partitions"] += 1
            stats["files_before"] += len(files)
            stats["files_after"] += 1
            stats["rows_before"] += rows_before
            stats["rows_after"] += merged.num_rows
        return CompactStats(**stats)


def _signature(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _read_tombstones(part: Path) -> dict[str, dict]:
    """Files of a partition merged away by ``compact``: name -> {sig, at}."""
    try:
        return orjson.loads((part / TOMBSTONES).read_bytes())
    except FileNotFoundError:
        return {}


def _write_tombstones(part: Path, dead: dict[str, dict]) -> None:
    tmp = part / f".{TOMBSTONES}.{os.getpid()}.tmp"
    tmp.write_bytes(orjson.dumps(dead))
    os.replace(tmp, part / TOMBSTONES)


def _add_tombstones(part: Path, files: list[Path]) -> None:
    dead = _read_tombstones(part)
    now = time.time()
    for f in files:
        dead[f.name] = {"sig": _signature(f), "at": now}
    _write_tombstones(part, dead)
    fsync_dir(part)


def _purge_tombstones(part: Path, grace_seconds: float) -> None:
    """Delete tombstoned files older than the grace period (a rewritten file stays)."""
    dead = _read_tombstones(part)
    if not dead:
        return
    now = time.time()
    keep = {}
    for name, info in dead.items():
        path = part / name
        if not path.exists():
            continue
        if _signature(path) != info["sig"]:
            continue  # rewritten since (a redelivered batch): it is live again
        if now - info["at"] >= grace_seconds:
            path.unlink(missing_ok=True)
        else:
            keep[name] = info
    _write_tombstones(part, keep)
