"""The derived layer: per-dossier (``cases``) and per-step (``steps``) tables kept beside
the raw events and updated as batches land (``derive``), read through ``DerivedLayer``.

Definitions: ``tables`` (mining's own SQL plus working days from a calendar table);
storage and the atomic swap: ``layer``; the incremental update: ``update``. It sits in
``mining`` because its definitions are mining's and ``ingest`` must not import ``mining``;
``dvcflow derive`` (once, or ``--follow`` beside the sink) runs it.
"""

from mining.derived.layer import DerivedLayer, Manifest
from mining.derived.tables import CASES_SCHEMA, FINISHED_SQL, STEPS_SCHEMA
from mining.derived.update import DeriveReport, derive, is_fresh

__all__ = [
    "CASES_SCHEMA",
    "FINISHED_SQL",
    "STEPS_SCHEMA",
    "DeriveReport",
    "DerivedLayer",
    "Manifest",
    "derive",
    "is_fresh",
]
