"""A small index of the store for the writers' checks, so that a check costs the same at
120 thousand events as at millions: who owns each dossier (``ingest.owner``) and which
contents each event identity (``ingest.identity``) was stored with.

It is an SQLite file beside the partitions (``INDEX_FILE``; in memory when the data folder
is read-only) with three tables: ``owners`` (case_id -> the owner's three fields, each with
the order key of the event it came from, so files taken in any order give the owner
``ingest.owner.owners_sql`` gives), ``identities`` (a 64-bit hash of ``(source, event_id)``
-> the 64-bit digests of the contents stored under it) and ``files`` (the store files it has
taken, by name, size and mtime). Before a lookup it takes the files that are new since
(``refresh``): cost grows with new data, not with the store. A compaction's merged file is
new, so it is taken once (rows already known change nothing); a restart keeps the file.

What it answers is what the store held, ever: a content that compaction later dropped as a
duplicate stays known. The hashes are 64-bit: two different identities share one with odds
of about n / 2**64 per lookup (n stored events), which would refuse an event as a conflict,
with the reason, never accept a conflict.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from dvcflow.access import Owner
from ingest.identity import DIGEST_SQL, KEY_SQL, identities
from ingest.owner import OWNER_FIELDS
from ingest.store import EventStore
from ingest.store_facts import parquet_source

INDEX_FILE = ".index/writers.sqlite"
FORMAT = "1"  # change when a hash or a table changes: an older index is then rebuilt

# the first registration (``ingest.owner.OWNER_ORDER``) as one sortable text
# (microseconds shifted to be positive, padded; a missing arrival sorts last)
_US = (
    "lpad((coalesce(epoch_us({}), 4611686018427387903) + 4611686018427387904) :: VARCHAR, 19, '0')"
)
ORDER_KEY_SQL = (
    f"{_US.format('ingested_at')} || '|' || {_US.format('timestamp')} || '|' || "
    "CASE WHEN lifecycle = 'start' THEN '0' ELSE '1' END || '|' || event_id"
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, sig TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS owners (
    case_id TEXT PRIMARY KEY, pk TEXT, p TEXT, ck TEXT, c TEXT, ok TEXT, o TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS identities (
    k INTEGER NOT NULL, digest INTEGER NOT NULL, PRIMARY KEY (k, digest)
) WITHOUT ROWID;
"""


def _pick(value: str, key: str) -> str:
    """Take the value of the earlier order key (a level the first event left empty comes
    from the next event naming it)."""
    newer = (
        f"excluded.{key} IS NOT NULL AND (owners.{key} IS NULL OR excluded.{key} < owners.{key})"
    )
    return (
        f"{value} = CASE WHEN {newer} THEN excluded.{value} ELSE owners.{value} END, "
        f"{key} = CASE WHEN {newer} THEN excluded.{key} ELSE owners.{key} END"
    )


_UPSERT_OWNER = (
    "INSERT INTO owners VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id) DO UPDATE SET "
    + ", ".join(_pick(v, k) for k, v in (("pk", "p"), ("ck", "c"), ("ok", "o")))
)
_OWNER_ROWS = (
    "SELECT case_id, "
    + ", ".join(
        f"min(_k) FILTER (WHERE {f} IS NOT NULL), arg_min({f}, _k) FILTER (WHERE {f} IS NOT NULL)"
        for f in OWNER_FIELDS
    )
    + f" FROM (SELECT *, {ORDER_KEY_SQL} AS _k FROM {{rows}}) GROUP BY case_id"
)


def _signature(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


class StoreIndex:
    """The writers' index of one store; safe to share between threads."""

    def __init__(self, store: EventStore):
        self.store = store
        self._lock = threading.Lock()
        self._db = self._open(store.data_dir / INDEX_FILE)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode = WAL")
        except (OSError, sqlite3.OperationalError):  # a read-only data folder
            db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous = NORMAL")
        db.executescript(_SCHEMA)
        found = db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
        if found is None or found[0] != FORMAT:
            db.executescript(
                "BEGIN IMMEDIATE; DELETE FROM files; DELETE FROM owners; DELETE FROM identities;"
                f" INSERT OR REPLACE INTO meta VALUES ('format', '{FORMAT}'); COMMIT;"
            )
        return db

    # --- lookups -------------------------------------------------------------------------
    def owners(self, case_ids: Iterable[str], refresh: bool = True) -> dict[str, Owner]:
        """The owners of those of ``case_ids`` the store holds (absent: a new dossier);
        ``refresh=False`` when the caller just caught up."""
        ids = sorted(set(case_ids))
        if refresh:
            self.refresh()
        out: dict[str, Owner] = {}
        with self._lock:
            for chunk in _chunks(ids):
                marks = ", ".join("?" * len(chunk))
                for case_id, *fields in self._db.execute(
                    f"SELECT case_id, p, c, o FROM owners WHERE case_id IN ({marks})", chunk
                ):
                    out[case_id] = Owner(*fields)
        return out

    def stored_digests(self, keys: Iterable[int], refresh: bool = True) -> dict[int, set[int]]:
        """identity hash -> the digests stored under it, for those of ``keys`` the store holds."""
        wanted = sorted(set(keys))
        if refresh:
            self.refresh()
        out: dict[int, set[int]] = {}
        with self._lock:
            for chunk in _chunks(wanted):
                marks = ", ".join("?" * len(chunk))
                for k, digest in self._db.execute(
                    f"SELECT k, digest FROM identities WHERE k IN ({marks})", chunk
                ):
                    out.setdefault(k, set()).add(digest)
        return out

    def conflicts(self, table: pa.Table) -> list[bool]:
        """Per row of ``table`` (store columns, ``source`` set): whether the store holds its
        identity with other content only (a retry of a stored content is no conflict)."""
        keys, digests = identities(table)
        stored = self.stored_digests(keys)
        return [k in stored and d not in stored[k] for k, d in zip(keys, digests, strict=True)]

    # --- keeping up with the store -------------------------------------------------------
    def refresh(self) -> int:
        """Take the store files written or replaced since the last look; how many."""
        for attempt in range(3):
            files = self.store.files()
            live = {}
            for f in files:
                try:
                    live[str(f.relative_to(self.store.root))] = (f, _signature(f))
                except FileNotFoundError:  # merged away and deleted meanwhile
                    continue
            with self._lock:
                known = dict(self._db.execute("SELECT name, sig FROM files"))
            new = [(n, f, s) for n, (f, s) in live.items() if known.get(n) != s]
            gone = [n for n in known if n not in live]
            if not new and not gone:
                return 0
            try:
                self._take([f for _n, f, _s in new], [(n, s) for n, _f, s in new], gone)
            except (duckdb.IOException, FileNotFoundError):
                if attempt == 2:
                    raise
                continue  # a file went between the listing and the read: list again
            return len(new)
        return 0

    def add(self, table: pa.Table, paths: Sequence[Path]) -> None:
        """Take rows the caller just wrote as ``paths`` (the sink), without reading them back."""
        named = [(str(p.relative_to(self.store.root)), _signature(p)) for p in paths]
        con = duckdb.connect()
        con.register("_rows", table)
        self._put(con, "_rows", named, [])

    def _take(self, files: list[Path], named: list[tuple[str, str]], gone: list[str]) -> None:
        con = duckdb.connect()
        source = parquet_source(files) if files else None
        if source is None:
            with self._lock:
                self._db.executemany("DELETE FROM files WHERE name = ?", [(n,) for n in gone])
            return
        self._put(con, source, named, gone)

    def _put(
        self,
        con: duckdb.DuckDBPyConnection,
        rows: str,
        named: list[tuple[str, str]],
        gone: list[str],
    ) -> None:
        con.execute("SET TimeZone = 'UTC'")
        # in key order: SQLite fills its B-trees front to back instead of page by random page
        owners = con.execute(_OWNER_ROWS.format(rows=rows) + " ORDER BY case_id").fetchall()
        ids = con.execute(
            f"SELECT DISTINCT {KEY_SQL} AS k, {DIGEST_SQL} AS d FROM {rows} ORDER BY k, d"
        ).fetchall()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(_UPSERT_OWNER, owners)
                db.executemany("INSERT OR IGNORE INTO identities VALUES (?, ?)", ids)
                db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?)", named)
                db.executemany("DELETE FROM files WHERE name = ?", [(n,) for n in gone])
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            if len(ids) > 50_000:  # a big catch-up: fold the write-ahead log back in
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _chunks(values: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
