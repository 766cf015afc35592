"""Where the derived layer lives and how readers see one whole version of it.

``<data_dir>/derived/`` holds segment files (``cases-<gen>.parquet`` and
``steps-<gen>.parquet``: the rows of the dossiers one derive recomputed, each row carrying
its ``gen``) and ``manifest.json``, the commit point: the segments that make the layer, the
store files (with their size and mtime) it was derived from, and the layer's version.
A dossier's rows are those of the newest segment that holds it. A derive writes its
segments (temp name, fsync, rename) and only then swaps the manifest (the same), so a
reader, which lists files from the manifest alone, sees the old layer or the new one,
never half; files no manifest names are invisible.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import orjson

from dvcflow.settings import get_settings
from ingest.store import fsync_dir

MANIFEST = "manifest.json"
# Bumped whenever a definition of ``mining.derived.tables`` or ``mining.log`` changes the
# rows: a layer of another definition is rebuilt, never mixed.
DEFINITION_VERSION = 1


def definition_key() -> str:
    """What the rows depend on besides the events: the definitions and the calendar
    settings (time zone, extra holidays and workdays)."""
    s = get_settings()
    text = "|".join(
        map(str, (DEFINITION_VERSION, s.timezone, sorted(map(str, s.extra_holidays)),
                  sorted(map(str, s.extra_workdays))))
    )  # fmt: skip
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Manifest:
    version: int
    definition: str
    segments: tuple[int, ...]  # generations, oldest first
    store_files: dict[str, str] = field(default_factory=dict)  # relative path -> signature
    retired: dict[str, float] = field(default_factory=dict)  # segment file -> when retired


class DerivedLayer:
    """The derived tables of the store under ``<data_dir>``."""

    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "derived"

    def segment_path(self, table: str, gen: int) -> Path:
        return self.root / f"{table}-{gen:08d}.parquet"

    def manifest(self) -> Manifest | None:
        """The committed manifest, or None before the first derive."""
        try:
            raw = orjson.loads((self.root / MANIFEST).read_bytes())
        except FileNotFoundError:
            return None
        return Manifest(
            version=int(raw["version"]),
            definition=str(raw["definition"]),
            segments=tuple(int(g) for g in raw["segments"]),
            store_files=dict(raw["store_files"]),
            retired=dict(raw.get("retired", {})),
        )

    def commit(self, manifest: Manifest) -> None:
        """Swap in ``manifest`` atomically (temp name, fsync, rename, fsync the folder)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{MANIFEST}.{os.getpid()}.tmp"
        body = {
            "version": manifest.version,
            "definition": manifest.definition,
            "segments": list(manifest.segments),
            "store_files": manifest.store_files,
            "retired": manifest.retired,
        }
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(body))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / MANIFEST)
        fsync_dir(self.root)

    def version(self) -> int | None:
        m = self.manifest()
        return None if m is None else m.version

    def connect(self, con: duckdb.DuckDBPyConnection) -> Manifest:
        """Views ``derived_cases`` and ``derived_steps`` on ``con`` over one committed
        version (the one returned). Raises ``FileNotFoundError`` before the first derive."""
        m = self.manifest()
        if m is None:
            raise FileNotFoundError(f"no derived layer at {self.root}: run `dvcflow derive`.")
        con.execute(f"CREATE OR REPLACE TEMP VIEW derived_cases AS {self.cases_sql(m)}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW derived_steps AS {self.steps_sql(m)}")
        return m

    def _files(self, table: str, m: Manifest) -> str:
        return ", ".join(
            "'" + str(self.segment_path(table, g)).replace("'", "''") + "'" for g in m.segments
        )

    def cases_sql(self, m: Manifest) -> str:
        """One row per dossier: the newest segment's (no window with a single segment)."""
        src = f"read_parquet([{self._files('cases', m)}])"
        if len(m.segments) == 1:
            return f"SELECT * EXCLUDE (gen) FROM {src}"
        return (
            f"SELECT * EXCLUDE (gen) FROM {src} QUALIFY gen = max(gen) OVER (PARTITION BY case_id)"
        )

    def steps_sql(self, m: Manifest) -> str:
        """The step rows of each dossier's newest segment."""
        src = f"read_parquet([{self._files('steps', m)}])"
        if len(m.segments) == 1:
            return f"SELECT * EXCLUDE (gen) FROM {src}"
        newest = (
            f"SELECT case_id, max(gen) AS gen FROM read_parquet([{self._files('cases', m)}]) "
            "GROUP BY case_id"
        )
        return f"SELECT s.* EXCLUDE (gen) FROM {src} s SEMI JOIN ({newest}) n USING (case_id, gen)"
