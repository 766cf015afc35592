"""What the files of one store version hold that decides how to read them.

Whether an ``event_id`` repeats decides if a reader needs the dedup window (a sort of every
column of every event); whether two events of a dossier share a timestamp decides if mining
needs a sort (by source order) to order them; whether the files have the ``source_order``
column at all (stores written before it existed do not) decides how that sort reads.
Counting reads four columns once; the answer is kept per store version in memory and in
``FACTS_FILE`` beside the partitions (a read-only store keeps it in memory only), so it is
paid once per new data, by whichever reader comes first. Whether any event carries a
``due_date`` attribute decides if mining reads the wide ``attributes`` column at all.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import orjson
import pyarrow.parquet as pq

FACTS_FILE = ".store-facts.json"
_KEEP_VERSIONS = 32
# (store root, "<store version>|<procedures or *>") -> facts, in memory
_FACTS: dict[tuple[str, str], StoreFacts] = {}


@dataclass(frozen=True)
class StoreFacts:
    repeated_ids: bool  # some event_id twice: the dedup window is needed
    same_time: bool  # two events of a dossier share a timestamp: order them by source order
    due_dates: bool = True  # some event's attributes name a due_date (read them, then)
    source_order: bool = True  # some file has the ``source_order`` column (older ones lack it)


_FIELDS = ("repeated_ids", "same_time", "due_dates", "source_order")


@lru_cache(maxsize=1)
def _schema_name() -> str:
    from ingest.schema import STORE_SCHEMA

    return f"store-{hashlib.sha1(str(STORE_SCHEMA).encode()).hexdigest()[:12]}.parquet"


def _schema_file() -> Path:
    """An empty Parquet file with every store column, read last beside the store's files:
    a column added to the store since older files were written (``source``) then reads as
    null in them instead of being unknown."""
    from ingest.schema import STORE_SCHEMA

    path = Path(tempfile.gettempdir()) / "dvcflow-schema" / _schema_name()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
        pq.write_table(STORE_SCHEMA.empty_table(), tmp)
        os.replace(tmp, path)
    return path


def parquet_source(files: Sequence[Path]) -> str:
    """``read_parquet`` over ``files`` (non-empty), as every store reader spells it."""
    file_list = ", ".join("'" + str(f).replace("'", "''") + "'" for f in [*files, _schema_file()])
    return f"read_parquet([{file_list}], hive_partitioning = false, union_by_name = true)"


def store_facts(
    root: Path,
    version: str,
    files: Sequence[Path],
    procedures: Sequence[str] | None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> StoreFacts:
    """The ``StoreFacts`` of ``files`` (the store's live files of ``procedures``), counted on
    ``con`` (its memory limit and threads) when not known yet."""
    key = f"{version}|{','.join(procedures) if procedures is not None else '*'}"
    mem_key = (str(root.resolve()), key)
    if mem_key in _FACTS:
        return _FACTS[mem_key]
    path = root / FACTS_FILE
    try:
        known = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    saved = known.get(key)
    if isinstance(saved, dict) and set(saved) == set(_FIELDS):
        facts = StoreFacts(*(bool(saved[f]) for f in _FIELDS))
    else:
        n, ids, keys, due = (
            (con or duckdb.connect())
            .execute(
                f"""SELECT count(*), count(DISTINCT event_id),
                           count(DISTINCT (case_id, timestamp)),
                           coalesce(bool_or(attributes LIKE '%due_date%'), false)
                    FROM (SELECT event_id, case_id, timestamp, attributes
                          FROM {parquet_source(files)})"""
            )
            .fetchone()
        )
        facts = StoreFacts(
            repeated_ids=n > ids,
            same_time=n > keys,
            due_dates=bool(due),
            source_order=any("source_order" in pq.read_schema(f).names for f in files),
        )
        known = dict(list(known.items())[-(_KEEP_VERSIONS - 1) :])
        known[key] = {f: getattr(facts, f) for f in _FIELDS}
        tmp = path.with_name(f".{FACTS_FILE}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(orjson.dumps(known))
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
    if len(_FACTS) > 64:
        _FACTS.clear()
    _FACTS[mem_key] = facts
    return facts
